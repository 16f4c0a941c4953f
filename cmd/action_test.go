package cmd

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"
)

// action is the part of action.yml the test reads.
type action struct {
	Name   string `yaml:"name"`
	Inputs map[string]struct {
		Required bool   `yaml:"required"`
		Default  string `yaml:"default"`
	} `yaml:"inputs"`
	Runs struct {
		Using string `yaml:"using"`
		Steps []struct {
			Name  string            `yaml:"name"`
			Uses  string            `yaml:"uses"`
			Shell string            `yaml:"shell"`
			Env   map[string]string `yaml:"env"`
			Run   string            `yaml:"run"`
		} `yaml:"steps"`
	} `yaml:"runs"`
}

// actionVersion is the version the test publishes the working tree as.
const actionVersion = "v0.0.0-actiontest"

// TestAction: action.yml at the repository root is a composite action
// with the inputs args and version, and its shell steps, run as the
// runner runs them, install preflight with go install and run it with
// --format github. The module is this working tree, published to a
// proxy in a directory (GOPROXY=file://), its dependencies from the
// module cache: nothing leaves the machine.
func TestAction(t *testing.T) {
	if testing.Short() {
		t.Skip("builds preflight with go install")
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	b, err := os.ReadFile("../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	var a action
	if err := yaml.Unmarshal(b, &a); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	if a.Runs.Using != "composite" || !a.Inputs["args"].Required || a.Inputs["version"].Required {
		t.Fatalf("action.yml: runs.using %q, inputs %+v: want a composite action, args required, version optional", a.Runs.Using, a.Inputs)
	}

	modcache := goEnv(t, "GOMODCACHE")
	tmp := t.TempDir()
	proxy := publish(t, filepath.Join(tmp, "proxy"))
	runnerTemp := filepath.Join(tmp, "runner")
	os.Mkdir(runnerTemp, 0o755)
	ownCache := filepath.Join(tmp, "modcache")
	t.Cleanup(func() { // the module cache is read-only
		c := exec.Command("go", "clean", "-modcache")
		c.Env = append(os.Environ(), "GOMODCACHE="+ownCache)
		c.Run()
	})
	summary := filepath.Join(tmp, "summary.md")
	env := append(os.Environ(),
		"GOPROXY=file://"+proxy+",file://"+filepath.Join(modcache, "cache", "download"),
		"GOMODCACHE="+ownCache, "GOSUMDB=off", "GOFLAGS=-buildvcs=false", "GOTOOLCHAIN=local",
		"RUNNER_TEMP="+runnerTemp, "GITHUB_STEP_SUMMARY="+summary, loopbackOnlyEnv+"=1")
	inputs := map[string]string{
		"inputs.args":       "check --config testdata/demo/preflight.yaml",
		"inputs.version":    actionVersion,
		"inputs.go-version": a.Inputs["go-version"].Default,
		"github.action_ref": "",
	}
	expr := regexp.MustCompile(`\$\{\{\s*([a-z_.-]+)\s*\}\}`)
	var outputs []string
	ran := 0
	for _, step := range a.Runs.Steps {
		if step.Run == "" {
			if !strings.HasPrefix(step.Uses, "actions/setup-go@") {
				t.Errorf("step %q uses %s: only actions/setup-go is expected (Go is here already)", step.Name, step.Uses)
			}
			continue
		}
		if step.Shell != "bash" {
			t.Errorf("step %q: shell %q, want bash", step.Name, step.Shell)
		}
		if expr.MatchString(step.Run) {
			t.Errorf("step %q has an expression in its script: inputs go through env, never into the script", step.Name)
		}
		stepEnv := slices.Clone(env)
		for k, v := range step.Env {
			stepEnv = append(stepEnv, k+"="+expr.ReplaceAllStringFunc(v, func(m string) string {
				return inputs[expr.FindStringSubmatch(m)[1]]
			}))
		}
		// As the runner runs a bash step: bash --noprofile --norc -eo pipefail {0}.
		c := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step.Run)
		c.Dir = ".."
		c.Env = stepEnv
		start := time.Now()
		out, err := c.CombinedOutput()
		t.Logf("step %q: %v in %v", step.Name, err, time.Since(start).Round(time.Millisecond))
		if err != nil {
			t.Fatalf("step %q failed: %v\n%s", step.Name, err, out)
		}
		outputs = append(outputs, string(out))
		ran++
	}
	if ran != 2 {
		t.Fatalf("%d shell steps ran, want 2 (install, run)", ran)
	}
	if !strings.Contains(outputs[0], "preflight "+actionVersion) {
		t.Errorf("the install step did not install %s:\n%s", actionVersion, outputs[0])
	}
	if !strings.Contains(outputs[1], "::notice title=preflight check::demo.example") || !strings.Contains(outputs[1], "title=dmarc.policy_none::") {
		t.Errorf("the run step did not print annotations:\n%s", outputs[1])
	}
	if s, err := os.ReadFile(summary); err != nil || !strings.Contains(string(s), "demo.example") {
		t.Errorf("no step summary (%v):\n%s", err, s)
	}
}

// publish makes a module proxy in dir holding this working tree as
// github.com/preflight-mail/preflight@actionVersion, and returns dir.
func publish(t *testing.T, dir string) string {
	t.Helper()
	mv := module.Version{Path: "github.com/preflight-mail/preflight", Version: actionVersion}
	at := filepath.Join(dir, mv.Path, "@v")
	if err := os.MkdirAll(at, 0o755); err != nil {
		t.Fatal(err)
	}
	z, err := os.Create(filepath.Join(at, mv.Version+".zip"))
	if err != nil {
		t.Fatal(err)
	}
	if err := modzip.CreateFromDir(z, mv, ".."); err != nil {
		t.Fatalf("the module zip: %v", err)
	}
	z.Close()
	gomod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{
		mv.Version + ".mod":  gomod,
		mv.Version + ".info": []byte(`{"Version":"` + mv.Version + `","Time":"2026-12-01T00:00:00Z"}`),
		"list":               []byte(mv.Version + "\n"),
	} {
		if err := os.WriteFile(filepath.Join(at, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// goEnv is a go env variable.
func goEnv(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.Command("go", "env", name).Output()
	if err != nil {
		t.Skipf("go env %s: %v", name, err)
	}
	return strings.TrimSpace(string(out))
}
