package inputfile

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestReadFileLimits(t *testing.T) {
	dir := t.TempDir()
	for k := Secret; k <= Targets; k++ {
		if k.Max() > 1<<20 {
			continue // the 64 MiB kinds: /dev/zero below covers them
		}
		at := filepath.Join(dir, k.String()+"-at")
		over := filepath.Join(dir, k.String()+"-over")
		os.WriteFile(at, make([]byte, k.Max()), 0o600)
		os.WriteFile(over, make([]byte, k.Max()+1), 0o600)
		if b, _, err := ReadFile(context.Background(), at, k); err != nil || int64(len(b)) != k.Max() {
			t.Errorf("%s of %d octets: %d read, %v", k, k.Max(), len(b), err)
		}
		_, _, err := ReadFile(context.Background(), over, k)
		if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), over+": too large: more than "+Size(k.Max())) {
			t.Errorf("%s of %d octets: %v, want too large", k, k.Max()+1, err)
		}
	}
}

// TestDevZero: /dev/zero behind a symbolic link (what a pull request can
// add) is refused for secrets and cut at the limit for every other kind.
func TestDevZero(t *testing.T) {
	link := filepath.Join(t.TempDir(), "zero")
	if err := os.Symlink("/dev/zero", link); err != nil {
		t.Skip(err)
	}
	for k := Secret; k <= Targets; k++ {
		f, err := Open(context.Background(), link, k)
		if k == Secret {
			if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), "a character device") {
				t.Errorf("secret from /dev/zero: %v", err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		n, err := io.Copy(io.Discard, f)
		f.Close()
		if !errors.Is(err, ErrTooLarge) || n != k.Max() {
			t.Errorf("%s from /dev/zero: %d octets, %v; want %d and too large", k, n, err, k.Max())
		}
	}
}

// TestFIFO: a secret in a FIFO is refused at once, without waiting for a
// writer; other kinds read a FIFO, and stop when the context ends even
// while the writer sends nothing.
func TestFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip(err)
	}
	start := time.Now()
	if _, err := Open(context.Background(), fifo, Secret); !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), "FIFO") {
		t.Errorf("secret from a FIFO: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("refusing the FIFO took %v", d)
	}

	w := make(chan *os.File, 1)
	go func() {
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			t.Error(err)
			close(w)
			return
		}
		f.WriteString("line\n")
		w <- f // keep it open, silent
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	f, err := Open(ctx, fifo, Zone)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if string(b) != "line\n" || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("read %q, %v; want the line, then the deadline", b, err)
	}
	if wf := <-w; wf != nil {
		wf.Close()
	}
}

func TestOthersCanRead(t *testing.T) {
	p := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(p, []byte("pw"), 0o600)
	for mode, want := range map[os.FileMode]bool{0o600: false, 0o400: false, 0o640: true, 0o604: true, 0o644: true} {
		os.Chmod(p, mode)
		_, fi, err := ReadFile(context.Background(), p, Secret)
		if err != nil {
			t.Fatal(err)
		}
		if got := OthersCanRead(fi); got != want {
			t.Errorf("mode %o: OthersCanRead = %v, want %v", mode, got, want)
		}
	}
}

func TestExcerpt(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"bad", `"bad"`},
		{"a\x00b\x1b[2J", `"a\x00b\x1b[2J"`},
		{strings.Repeat("x", 50), `"` + strings.Repeat("x", 40) + `…"`},
		{strings.Repeat("x", 39) + "é", `"` + strings.Repeat("x", 39) + `…"`},
	} {
		if got := Excerpt(tt.in); got != tt.want {
			t.Errorf("Excerpt(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// A regular file opened after the time is up is not taken for a named
// pipe without a writer (review of #22: --timeout 1ms).
func TestTimeUpIsNotAPipe(t *testing.T) {
	file := filepath.Join(t.TempDir(), "relays.yaml")
	os.WriteFile(file, []byte("- {host: a.test:25}\n"), 0o600)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for range 20 { // the open races the done context: either way is fine
		_, err := Open(ctx, file, YAML)
		if err != nil && strings.Contains(err.Error(), "named pipe") {
			t.Fatalf("a regular file after the time limit: %v", err)
		}
	}
}
