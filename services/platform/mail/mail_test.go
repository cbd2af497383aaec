package mail_test

import (
	"context"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	tmail "github.com/tessera-dev/tessera/services/platform/mail"
)

// The sender talks SMTP to a real server (the mailbox), which stores the message.
func TestSendThroughSMTP(t *testing.T) {
	mb, err := tmail.StartMailbox(t.TempDir(), "127.0.0.1:0")
	require.NoError(t, err)
	defer func() { _ = mb.Close() }()
	s := &tmail.Sender{Addr: mb.Addr, From: "tessera@test.example"}
	lic := "SERVER h ANY\nVENDOR v\n"
	require.NoError(t, s.Send(t.Context(), tmail.Message{
		To: []string{"alice@example.com"}, Subject: "Your license ✓", Text: "Hello\nAlice",
		Attachments: []tmail.Attachment{{Filename: "LicenseFile.lic", ContentType: "text/plain", Data: []byte(lic)}},
	}))
	files, err := mb.Files()
	require.NoError(t, err)
	require.Len(t, files, 1)
	raw, err := os.ReadFile(files[0])
	require.NoError(t, err)
	m, err := mail.ReadMessage(strings.NewReader(string(raw)))
	require.NoError(t, err)
	require.Equal(t, "<alice@example.com>", m.Header.Get("To"))
	require.Equal(t, "<tessera@test.example>", m.Header.Get("From"))
	subject, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	require.NoError(t, err)
	require.Equal(t, "Your license ✓", subject)
	_, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	require.NoError(t, err)
	mr := multipart.NewReader(m.Body, params["boundary"])
	text, err := mr.NextPart()
	require.NoError(t, err)
	body, _ := io.ReadAll(text)
	require.Equal(t, "Hello\r\nAlice", string(body))
	att, err := mr.NextPart()
	require.NoError(t, err)
	require.Equal(t, "LicenseFile.lic", att.FileName())

	require.Error(t, s.Send(t.Context(), tmail.Message{To: []string{"not an address"}}))
	require.Error(t, s.Send(t.Context(), tmail.Message{}))
}

// stalledServer accepts connections and never says a word, like an SMTP server that
// hangs after the TCP handshake.
func stalledServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return ln.Addr().String()
}

// A server that stalls after accepting cannot hold the sender past its timeout.
func TestSendGivesUpOnAStalledServer(t *testing.T) {
	s := &tmail.Sender{Addr: stalledServer(t), From: "tessera@test.example", SendTimeout: 300 * time.Millisecond}
	start := time.Now()
	err := s.Send(t.Context(), tmail.Message{To: []string{"alice@example.com"}, Subject: "s", Text: "t"})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(start), 5*time.Second)
}

// Ending the caller's context (a request that was abandoned) ends the send at once.
func TestSendStopsWithItsContext(t *testing.T) {
	s := &tmail.Sender{Addr: stalledServer(t), From: "tessera@test.example"}
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	err := s.Send(ctx, tmail.Message{To: []string{"alice@example.com"}, Subject: "s", Text: "t"})
	require.ErrorIs(t, err, context.Canceled)
	require.Less(t, time.Since(start), 5*time.Second)
}

// An address nothing listens on fails fast instead of waiting for a timeout.
func TestSendReportsARefusedConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	s := &tmail.Sender{Addr: addr, From: "tessera@test.example"}
	require.Error(t, s.Send(t.Context(), tmail.Message{To: []string{"alice@example.com"}, Subject: "s", Text: "t"}))
}
