package mail

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
)

// Mailbox is an SMTP server that writes every message it accepts as an .eml file in
// a folder. `tessera dev` points the notifier at it; tests read what arrived.
type Mailbox struct {
	Dir    string
	Addr   string // host:port it listens on
	server *smtp.Server
	seq    atomic.Int64
}

// StartMailbox listens on addr ("127.0.0.1:0" for a free port).
func StartMailbox(dir, addr string) (*Mailbox, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	mb := &Mailbox{Dir: dir}
	s := smtp.NewServer(&backend{mb: mb})
	s.Domain = "localhost"
	s.AllowInsecureAuth = true
	s.ReadTimeout = 30 * time.Second
	s.WriteTimeout = 30 * time.Second
	s.MaxMessageBytes = 32 << 20
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("mail: mailbox listen: %w", err)
	}
	mb.Addr = ln.Addr().String()
	mb.server = s
	go func() { _ = s.Serve(ln) }()
	return mb, nil
}

// Close stops the server.
func (m *Mailbox) Close() error { return m.server.Close() }

// Files lists the stored messages, oldest first.
func (m *Mailbox) Files() ([]string, error) {
	files, err := filepath.Glob(filepath.Join(m.Dir, "*.eml"))
	sort.Strings(files)
	return files, err
}

type backend struct{ mb *Mailbox }

func (b *backend) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{mb: b.mb}, nil }

type session struct {
	mb   *Mailbox
	from string
	to   []string
}

func (s *session) AuthPlain(string, string) error { return nil }

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	if len(s.to) == 0 {
		return errors.New("no recipients")
	}
	name := fmt.Sprintf("%s-%06d.eml", time.Now().UTC().Format("20060102T150405.000000000"), s.mb.seq.Add(1))
	tmp := filepath.Join(s.mb.Dir, "."+name)
	f, err := os.Create(tmp) //nolint:gosec // our own folder and a generated name
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	// Rename last so a reader never sees half a message.
	return os.Rename(tmp, filepath.Join(s.mb.Dir, name))
}

func (s *session) Reset() { s.from, s.to = "", nil }

func (s *session) Logout() error { return nil }
