package mail_test

import (
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"strings"
	"testing"

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
	require.NoError(t, s.Send(tmail.Message{
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

	require.Error(t, s.Send(tmail.Message{To: []string{"not an address"}}))
	require.Error(t, s.Send(tmail.Message{}))
}
