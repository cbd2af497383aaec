package pgcluster_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/tessera-dev/tessera/services/platform/pgcluster"
)

// ownerDirEnv makes the test binary act as the owning process (`tessera dev`) of a
// cluster: it starts it, says so, and waits to be killed.
const ownerDirEnv = "PGCLUSTER_TEST_OWNER_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(ownerDirEnv); dir != "" {
		if _, err := pgcluster.Start(context.Background(), dir); err != nil {
			fmt.Fprintln(os.Stderr, "owner:", err)
			os.Exit(2)
		}
		fmt.Println("owner ready")
		select {} // until killed
	}
	os.Exit(m.Run())
}

// A server whose owner died by kill -9 is owned again by the next Start, whose Stop
// shuts it down; while its owner lives, another Start only borrows it.
func TestOrphanedClusterIsOwnedAgain(t *testing.T) {
	_, err := pgcluster.FindBinaries()
	require.NoError(t, err, "this test runs the machine's PostgreSQL server binaries (apt-get install postgresql)")
	ctx := t.Context()
	dir := clusterDir(t)

	owner := startOwner(t, dir)
	borrowed, err := pgcluster.Start(ctx, dir)
	require.NoError(t, err)
	require.False(t, borrowed.Owned())
	require.NoError(t, borrowed.Stop())
	require.NoError(t, ping(ctx, borrowed.URL), "a borrower's Stop leaves the owner's server running")

	require.NoError(t, owner.Process.Signal(syscall.SIGKILL))
	_ = owner.Wait()
	pid := postmasterPID(t, dir)
	require.True(t, alive(pid), "the server outlives its killed owner")

	adopted, err := pgcluster.Start(ctx, dir)
	require.NoError(t, err)
	require.True(t, adopted.Owned())
	require.NoError(t, ping(ctx, adopted.URL))
	require.NoError(t, adopted.Stop())
	// pg_ctl returns once the pid file is gone, a moment before the process exits.
	require.Eventually(t, func() bool { return !alive(pid) }, 10*time.Second, 20*time.Millisecond, "Stop of the new owner ends the orphaned postmaster")
	require.NoFileExists(t, filepath.Join(dir, "data", "postmaster.pid"))

	// Ownership is given up with the server: the next Start starts and owns it afresh.
	again, err := pgcluster.Start(ctx, dir)
	require.NoError(t, err)
	require.True(t, again.Owned())
	require.NoError(t, again.Stop())
}

// clusterDir is a fresh folder the PostgreSQL user can reach when tests run as root.
func clusterDir(t *testing.T) string {
	t.Helper()
	parent, err := os.MkdirTemp("", "pgcluster-test-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(parent, 0o755)) //nolint:gosec // the server user must traverse it
	dir := filepath.Join(parent, "pg")
	t.Cleanup(func() {
		// Whatever the test left running is stopped: by now no owner lives.
		if c, err := pgcluster.Start(context.Background(), dir); err == nil {
			_ = c.Stop()
		}
		_ = os.RemoveAll(parent)
	})
	return dir
}

// startOwner runs this test binary as the cluster's owner and waits until it has
// started the server.
func startOwner(t *testing.T, dir string) *exec.Cmd {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$") //nolint:gosec // this test binary
	cmd.Env = append(os.Environ(), ownerDirEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err, "the owner process did not start the cluster")
	require.Equal(t, "owner ready\n", line)
	return cmd
}

func ping(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	return conn.Close(ctx)
}

func postmasterPID(t *testing.T, dir string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid")) //nolint:gosec // the test's cluster
	require.NoError(t, err)
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	require.NoError(t, err)
	return pid
}

// alive says whether pid runs; a zombie (exited, not yet reaped by an init that
// does not reap) counts as gone.
func alive(pid int) bool {
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		_, rest, _ := strings.Cut(string(b), ") ")
		return !strings.HasPrefix(rest, "Z") && !strings.HasPrefix(rest, "X")
	} else if !errors.Is(err, os.ErrNotExist) {
		return syscall.Kill(pid, 0) == nil
	}
	return false
}
