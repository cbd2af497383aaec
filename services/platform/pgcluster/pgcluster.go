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
	Dir     string // holds data/, the socket and the log
	URL     string // connection URL of the postgres database
	binDir  string
	cred    *syscall.Credential
	started bool // false when an already running cluster was reused
}

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
// socket inside dir, so it never collides with another server's port. A cluster
// already running in dir is reused.
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
	if c.ping(ctx) == nil {
		return c, nil // already running (another test process, an earlier run)
	}
	if os.Geteuid() == 0 {
		cred, err := unprivileged()
		if err != nil {
			return nil, err
		}
		c.cred = cred
		if err := chownTree(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	if _, err := os.Stat(filepath.Join(data, "PG_VERSION")); err != nil {
		if out, err := c.run(ctx, "initdb", "-D", data, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--no-sync"); err != nil {
			return nil, fmt.Errorf("pgcluster: initdb: %w: %s", err, out)
		}
	}
	opts := fmt.Sprintf("-k %s -c listen_addresses='' -p 5432 -c fsync=on -c max_connections=300", dir)
	if out, err := c.run(ctx, "pg_ctl", "start", "-w", "-t", "60", "-D", data, "-l", filepath.Join(dir, "server.log"), "-o", opts); err != nil {
		return nil, fmt.Errorf("pgcluster: start: %w: %s (see %s)", err, out, filepath.Join(dir, "server.log"))
	}
	c.started = true
	deadline := time.Now().Add(30 * time.Second)
	for c.ping(ctx) != nil {
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("pgcluster: server in %s does not answer", dir)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return c, nil
}

// Stop shuts the server down if this process started it.
func (c *Cluster) Stop() error {
	if !c.started {
		return nil
	}
	out, err := c.run(context.Background(), "pg_ctl", "stop", "-m", "fast", "-w", "-D", filepath.Join(c.Dir, "data"))
	if err != nil {
		return fmt.Errorf("pgcluster: stop: %w: %s", err, out)
	}
	return nil
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
