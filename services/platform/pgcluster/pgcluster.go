// Package pgcluster creates and runs a private PostgreSQL cluster from the machine's
// server binaries, for `tessera dev` and tests when no DATABASE_URL is given. As root
// it runs the server as an unprivileged user, since PostgreSQL refuses to run as root.
package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrNoServer says no PostgreSQL server binaries could be found.
var ErrNoServer = errors.New("no PostgreSQL server binaries found: install PostgreSQL (e.g. apt-get install postgresql) or set DATABASE_URL")

// Cluster is a running private cluster.
type Cluster struct {
	Dir    string // holds data/, the socket and the log
	URL    string // connection URL of the postgres database
	binDir string
	cred   *syscall.Credential
	// owner holds the exclusive lock on Dir/owner.lock while this process owns the
	// server (started it, or adopted one whose owner died); nil when it only borrows
	// a server another live process owns.
	owner *os.File
}

// ownerLockName is the file whose flock marks the process that owns (and will stop)
// the server. The kernel drops the lock when the owner dies, even by kill -9, so the
// next Start knows a running server is an orphan and takes it over.
const ownerLockName = "owner.lock"

// FindBinaries returns the folder holding initdb and pg_ctl: from PATH, else the
// newest version in the distribution's usual folders.
func FindBinaries() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	var candidates []string
	for _, pattern := range []string{"/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin", "/usr/local/pgsql/bin", "/opt/homebrew/opt/postgresql*/bin", "/usr/local/opt/postgresql*/bin"} {
		m, _ := filepath.Glob(pattern)
		candidates = append(candidates, m...)
	}
	sort.Slice(candidates, func(i, j int) bool { return versionOf(candidates[i]) > versionOf(candidates[j]) })
	for _, c := range candidates {
		if _, err := os.Stat(filepath.Join(c, "initdb")); err == nil {
			return c, nil
		}
	}
	return "", ErrNoServer
}

var versionDigits = regexp.MustCompile(`[0-9]+`)

// versionOf finds the major version in a folder like /usr/lib/postgresql/15/bin.
func versionOf(dir string) int {
	n, _ := strconv.Atoi(versionDigits.FindString(dir))
	return n
}

// Start initializes dir if needed and starts the server listening only on a Unix
// socket inside dir, so it never collides with another server's port. A server
// already running in dir is reused: owned (stopped by Stop) when the process that
// started it is gone, borrowed (left running) while that process lives.
func Start(ctx context.Context, dir string) (*Cluster, error) {
	binDir, err := FindBinaries()
	if err != nil {
		return nil, err
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	c := &Cluster{Dir: dir, binDir: binDir}
	c.URL = fmt.Sprintf("postgres://postgres@/postgres?host=%s&port=5432&sslmode=disable", dir)
	if os.Geteuid() == 0 {
		if c.cred, err = unprivileged(); err != nil {
			return nil, err
		}
	}
	owner, err := claimOwnership(dir)
	if err != nil {
		return nil, err
	}
	if owner == nil {
		// Another live process owns the server; it may still be starting it.
		if err := c.waitUntilUp(ctx, time.Minute); err != nil {
			return nil, fmt.Errorf("pgcluster: the server in %s belongs to another running process and does not answer: %w", dir, err)
		}
		return c, nil
	}
	c.owner = owner
	if c.ping(ctx) == nil {
		return c, nil // an orphan: its owner died without stopping it; ours to stop now
	}
	if c.cred != nil {
		if err := chownTree(dir, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			c.release()
			return nil, err
		}
	}
	if err := c.start(ctx); err != nil {
		c.release()
		return nil, err
	}
	return c, nil
}

func (c *Cluster) start(ctx context.Context) error {
	data := filepath.Join(c.Dir, "data")
	if _, err := os.Stat(filepath.Join(data, "PG_VERSION")); err != nil {
		if out, err := c.run(ctx, "initdb", "-D", data, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--no-sync"); err != nil {
			return fmt.Errorf("pgcluster: initdb: %w: %s", err, out)
		}
	}
	opts := fmt.Sprintf("-k %s -c listen_addresses='' -p 5432 -c fsync=on -c max_connections=300", c.Dir)
	if out, err := c.run(ctx, "pg_ctl", "start", "-w", "-t", "60", "-D", data, "-l", filepath.Join(c.Dir, "server.log"), "-o", opts); err != nil {
		return fmt.Errorf("pgcluster: start: %w: %s (see %s)", err, out, filepath.Join(c.Dir, "server.log"))
	}
	if err := c.waitUntilUp(ctx, 30*time.Second); err != nil {
		return fmt.Errorf("pgcluster: server in %s does not answer: %w", c.Dir, err)
	}
	return nil
}

// Owned says whether Stop will shut the server down: false when another running
// process owns it.
func (c *Cluster) Owned() bool { return c.owner != nil }

// Stop shuts the server down if this process owns it, and gives up ownership.
func (c *Cluster) Stop() error {
	if c.owner == nil {
		return nil
	}
	defer c.release()
	out, err := c.run(context.Background(), "pg_ctl", "stop", "-m", "fast", "-w", "-D", filepath.Join(c.Dir, "data"))
	if err != nil {
		return fmt.Errorf("pgcluster: stop: %w: %s", err, out)
	}
	return nil
}

// claimOwnership takes the owner lock of dir without waiting. It returns nil, nil
// when another live process holds it.
func claimOwnership(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, ownerLockName), os.O_CREATE|os.O_RDWR, 0o600) //nolint:gosec // the cluster folder this process manages
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, nil
		}
		return nil, fmt.Errorf("pgcluster: lock %s: %w", f.Name(), err)
	}
	return f, nil
}

func (c *Cluster) release() {
	if c.owner != nil {
		_ = c.owner.Close() // closing drops the flock
		c.owner = nil
	}
}

func (c *Cluster) waitUntilUp(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		err := c.ping(ctx)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (c *Cluster) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.URL)
	if err != nil {
		return err
	}
	return conn.Close(ctx)
}

func (c *Cluster) run(ctx context.Context, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(c.binDir, name), args...) //nolint:gosec // fixed binaries from the PostgreSQL folder
	cmd.Dir = c.Dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// unprivileged picks the user to run the server as when we are root.
func unprivileged() (*syscall.Credential, error) {
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, _ := strconv.ParseUint(u.Uid, 10, 32)
		gid, _ := strconv.ParseUint(u.Gid, 10, 32)
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
	}
	return nil, errors.New("pgcluster: running as root and no unprivileged user (postgres, nobody) exists to run PostgreSQL")
}

func chownTree(dir string, uid, gid int) error {
	// The server user must be able to reach dir through its parents.
	for p := filepath.Dir(dir); p != "/" && p != "."; p = filepath.Dir(p) {
		if st, err := os.Stat(p); err == nil && st.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("pgcluster: %s is not traversable by the PostgreSQL user; run from a world-readable folder, pass --dir, or set DATABASE_URL", p)
		}
	}
	return filepath.Walk(dir, func(path string, _ os.FileInfo, err error) error {
		if errors.Is(err, os.ErrNotExist) {
			return nil // a server that just stopped may still be removing files
		}
		if err != nil {
			return err
		}
		return os.Lchown(path, uid, gid) //nolint:gosec // a private data folder this process created
	})
}
