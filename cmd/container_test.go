package cmd

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// containerVersion is the version the test builds the image with.
const containerVersion = "v0.0.0-containertest"

// TestContainer builds the Dockerfile at the repository root with docker
// or podman and runs preflight version in it: a static binary that runs
// in an image of nothing else, as a user without privileges. Without a
// container runtime that runs, it skips with one line saying so (.ci/test
// prints it).
func TestContainer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a container image")
	}
	rt, why := containerRuntime()
	if rt == "" {
		t.Skip("container test skipped: " + why)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	tag := "preflight-test:" + strings.TrimPrefix(containerVersion, "v")
	build := exec.CommandContext(ctx, rt, "build", "-t", tag, "--build-arg", "VERSION="+containerVersion, "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("%s build: %v\n%s", rt, err, out)
	}
	t.Cleanup(func() { exec.Command(rt, "rmi", "-f", tag).Run() })
	out, err := exec.CommandContext(ctx, rt, "run", "--rm", "--network", "none", tag, "version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "preflight "+containerVersion) {
		t.Errorf("%s run %s version: %v\n%s", rt, tag, err, out)
	}
	user, err := exec.CommandContext(ctx, rt, "image", "inspect", "-f", "{{.Config.User}}", tag).Output()
	if u := strings.TrimSpace(string(user)); err != nil || u == "" || u == "0" || strings.HasPrefix(u, "root") || strings.HasPrefix(u, "0:") {
		t.Errorf("the image runs as %q (%v), want a user without privileges", u, err)
	}
}

// containerRuntime is docker or podman, the first that runs; else "" and
// why not.
func containerRuntime() (string, string) {
	var why []string
	for _, rt := range []string{"docker", "podman"} {
		if _, err := exec.LookPath(rt); err != nil {
			why = append(why, rt+" is not installed")
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err := exec.CommandContext(ctx, rt, "info").Run()
		cancel()
		if err == nil {
			return rt, ""
		}
		why = append(why, rt+" is installed but does not run ("+rt+" info: "+err.Error()+")")
	}
	return "", strings.Join(why, "; ")
}
