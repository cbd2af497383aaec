// Package mail sends email through a maintained SMTP client (wneessen/go-mail), with
// a connect timeout, a deadline on the whole exchange and the caller's context, and
// runs a small SMTP server that stores what it receives as .eml files (the dev mailbox
// and the tests' inbox).
package mail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"strconv"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Attachment is a file sent with a message.
type Attachment struct {
	Filename    string
	ContentType string
	Data        []byte
}

// Message is one email.
type Message struct {
	To          []string
	Subject     string
	Text        string
	Attachments []Attachment
}

// Default limits of a Sender whose own are zero.
const (
	DefaultDialTimeout = 10 * time.Second
	DefaultSendTimeout = 60 * time.Second
)

// Sender delivers messages to an SMTP server.
type Sender struct {
	Addr     string // host:port
	From     string
	Username string // optional PLAIN auth
	Password string
	// DialTimeout bounds connecting (go-mail also uses it as the I/O deadline of each
	// message); SendTimeout bounds the whole SMTP exchange, so a server that accepts
	// the connection and then stalls cannot hold a request (some mails are sent while
	// a request waits) or the notifier forever.
	DialTimeout time.Duration
	SendTimeout time.Duration
}

// Send builds a MIME message and hands it to the SMTP server. It gives up when ctx
// ends or a timeout passes, whichever comes first.
func (s *Sender) Send(ctx context.Context, m Message) error {
	if len(m.To) == 0 {
		return errors.New("mail: no recipients")
	}
	for _, to := range m.To {
		if _, err := mail.ParseAddress(to); err != nil {
			return fmt.Errorf("mail: bad recipient %q: %w", to, err)
		}
	}
	msg, err := s.build(m)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, orDefault(s.SendTimeout, DefaultSendTimeout))
	defer cancel()
	client, err := s.client(ctx)
	if err != nil {
		return err
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("mail: send to %s: %w (%w)", s.Addr, ctx.Err(), err)
		}
		return fmt.Errorf("mail: send to %s: %w", s.Addr, err)
	}
	return nil
}

func (s *Sender) build(m Message) (*gomail.Msg, error) {
	// 8bit keeps text lines as written (quoted-printable would break long links).
	msg := gomail.NewMsg(gomail.WithEncoding(gomail.NoEncoding), gomail.WithNoDefaultUserAgent())
	if err := msg.From(s.From); err != nil {
		return nil, fmt.Errorf("mail: bad sender %q: %w", s.From, err)
	}
	if err := msg.To(m.To...); err != nil {
		return nil, fmt.Errorf("mail: recipients: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	msg.SetMessageID()
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	for _, a := range m.Attachments {
		ct := a.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		if err := msg.AttachReader(a.Filename, bytes.NewReader(a.Data), gomail.WithFileContentType(gomail.ContentType(ct))); err != nil {
			return nil, fmt.Errorf("mail: attachment %q: %w", a.Filename, err)
		}
	}
	return msg, nil
}

func (s *Sender) client(ctx context.Context) (*gomail.Client, error) {
	host, portText, err := net.SplitHostPort(s.Addr)
	if err != nil {
		return nil, fmt.Errorf("mail: bad server address %q: %w", s.Addr, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return nil, fmt.Errorf("mail: bad server port %q: %w", s.Addr, err)
	}
	opts := []gomail.Option{
		gomail.WithPort(port),
		gomail.WithTimeout(orDefault(s.DialTimeout, DefaultDialTimeout)),
		gomail.WithTLSPolicy(gomail.TLSOpportunistic),
		gomail.WithDialContextFunc(dialBounded(ctx)),
	}
	if s.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthPlain), gomail.WithUsername(s.Username), gomail.WithPassword(s.Password))
	}
	return gomail.NewClient(host, opts...)
}

// dialBounded ties the connection to the whole send's context (not only the dial's,
// which go-mail ends once connected): when it ends, by the caller or SendTimeout, the
// connection is closed. go-mail bounds only the dial itself, so a server that never
// sends its greeting would otherwise block the read forever.
func dialBounded(exchange context.Context) gomail.DialContextFunc {
	return func(dialCtx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		conn, err := d.DialContext(dialCtx, network, addr)
		if err != nil {
			return nil, err
		}
		// Closing (not a deadline) makes ctx.Err() set before the read fails, so Send
		// reports why.
		stop := context.AfterFunc(exchange, func() { _ = conn.Close() })
		return &stoppingConn{Conn: conn, stop: stop}, nil
	}
}

// stoppingConn releases the context watch when the exchange closes the connection.
type stoppingConn struct {
	net.Conn
	stop func() bool
}

func (c *stoppingConn) Close() error {
	c.stop()
	return c.Conn.Close()
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
