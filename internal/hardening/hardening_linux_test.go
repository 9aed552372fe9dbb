//go:build linux

package hardening

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

const helperEnv = "BILL_MCP_HARDENING_TEST_HELPER"

// TestMain runs the check in a child process: NonDumpable cannot be undone
// for RLIMIT_CORE's hard limit, so it must not touch the test runner itself.
func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		os.Exit(child())
	}
	os.Exit(m.Run())
}

func state() (dumpable int, core unix.Rlimit, err error) {
	d, err := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
	if err != nil {
		return 0, core, err
	}
	err = unix.Getrlimit(unix.RLIMIT_CORE, &core)
	return d, core, err
}

func child() int {
	d, core, err := state()
	fmt.Printf("before dumpable=%d core=%d/%d err=%v\n", d, core.Cur, core.Max, err)
	if err := NonDumpable(); err != nil {
		fmt.Println("error:", err)
		return 1
	}
	d, core, err = state()
	fmt.Printf("after dumpable=%d core=%d/%d err=%v\n", d, core.Cur, core.Max, err)
	return 0
}

func TestNonDumpable(t *testing.T) {
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "before dumpable=1 ") {
		t.Fatalf("unexpected child output (a test runner should start dumpable):\n%s", out)
	}
	if lines[1] != "after dumpable=0 core=0/0 err=<nil>" {
		t.Errorf("after NonDumpable: %s", lines[1])
	}
	// The test process itself is untouched.
	if d, _, _ := state(); d != 1 {
		t.Errorf("the parent's dumpable flag changed to %d", d)
	}
}
