package gateway

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	licensepb "github.com/tessera-dev/tessera/gen/tessera/license/v1"
	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/logging"
)

func TestRedactPath(t *testing.T) {
	for in, want := range map[string]string{
		"/v1/invitations/inv_0a1b:accept":  "/v1/invitations/REDACTED:accept",
		"/v1/invitations/anything":         "/v1/invitations/REDACTED",
		"/v1/webRegisterKeys/WRK-9:redeem": "/v1/webRegisterKeys/REDACTED:redeem",
		"/v1/accessTokens/rna_secret":      "/v1/accessTokens/REDACTED",
		"/v1/lineItems/ACT-1:activate":     "/v1/lineItems/ACT-1:activate",
		"/v1/invitations:accept":           "/v1/invitations:accept",
		"/v1/x/sub_abc/y":                  "/v1/x/REDACTED/y",
		"/healthz":                         "/healthz",
	} {
		require.Equal(t, want, redactPath(in), in)
	}
}

func FuzzRedactPath(f *testing.F) {
	for _, s := range []string{"/v1/invitations/inv_1:accept", "/v1/a/rna_x", "//", "/v1/webRegisterKeys/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		out := redactPath(path)
		for _, seg := range strings.Split(out, "/") {
			for _, p := range secretPrefixes {
				if strings.HasPrefix(seg, p) {
					t.Fatalf("%q kept the secret segment %q", path, seg)
				}
			}
		}
		if strings.Count(out, "/") != strings.Count(path, "/") {
			t.Fatalf("%q: redaction changed the path's shape: %q", path, out)
		}
	})
}

func TestCamelUpdateMask(t *testing.T) {
	for in, want := range map[string]string{
		`{"update_mask":"display_name,type"}`:           `{"update_mask":"displayName,type"}`,
		`{"updateMask":"displayName", "a": {"b_c": 1}}`: `{"a":{"b_c":1},"updateMask":"displayName"}`,
		`{"update_mask":"account.display_name"}`:        `{"update_mask":"account.displayName"}`,
		`{"account":{"display_name":"x"}}`:              `{"account":{"display_name":"x"}}`,
		`{"update_mask":{"paths":["a_b"]}}`:             `{"update_mask":{"paths":["a_b"]}}`,
	} {
		require.JSONEq(t, want, string(CamelUpdateMask([]byte(in))), in)
	}
	require.Equal(t, "not json", string(CamelUpdateMask([]byte("not json"))))
}

func FuzzCamelUpdateMask(f *testing.F) {
	for _, s := range []string{`{"update_mask":"a_b,c"}`, `{"updateMask":""}`, `[]`, `{"update_mask":1}`, ``} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		out := CamelUpdateMask([]byte(body))
		if json.Valid([]byte(body)) && !json.Valid(out) {
			t.Fatalf("%q became invalid JSON %q", body, out)
		}
		var m map[string]any
		if json.Unmarshal(out, &m) == nil {
			if s, ok := m["update_mask"].(string); ok && strings.Contains(s, "_") {
				t.Fatalf("%q kept an underscore in %q", body, s)
			}
		}
	})
}

// The field violations come from the text protojson really produces.
func TestFromDecoding(t *testing.T) {
	for body, field := range map[string]string{
		`{"quantity":"abc"}`:      "quantity",
		`{"hostId":12}`:           "host_id",
		`{"request_id":true}`:     "request_id",
		`{"colour":"red"}`:        "colour",
		`{"quantity":`:            "body",
		`{"host_id":"x", "quan"}`: "body",
	} {
		err := protojson.Unmarshal([]byte(body), &licensepb.ActivateLineItemRequest{})
		require.Error(t, err, body)
		st := fromDecoding(status.New(codes.InvalidArgument, err.Error()))
		require.Equal(t, codes.InvalidArgument, st.Code())
		require.Len(t, st.Details(), 2, body)
		br, ok := st.Details()[1].(*errdetails.BadRequest)
		require.True(t, ok)
		require.NotEmpty(t, st.Details()[0].(*errdetails.ErrorInfo).GetReason(), body)
		require.Equal(t, field, br.GetFieldViolations()[0].GetField(), "%s: %s", body, err)
	}
	plain := status.New(codes.InvalidArgument, "quantity must be positive")
	require.Same(t, plain, fromDecoding(plain), "the services' own refusals pass unchanged")
}

func FuzzFromDecoding(f *testing.F) {
	for _, s := range []string{`proto: (line 1:13): invalid value for int64 field quantity: "abc"`, `proto: unknown field "x"`, "syntax error", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		st := fromDecoding(status.New(codes.InvalidArgument, msg))
		if st.Code() != codes.InvalidArgument {
			t.Fatalf("%q changed the code", msg)
		}
	})
}

// Access log lines carry the request ID and no secret of the path.
func TestAccessLogRequestIDAndRedaction(t *testing.T) {
	var buf bytes.Buffer
	_, priv, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	// grpc.NewClient connects lazily: nothing listens at these targets, and nothing
	// here calls a service.
	none := "127.0.0.1:1"
	g, err := New(t.Context(), Config{Targets: Targets{none, none, none, none, none}}, authz.NewSigner(priv), logging.New(&buf, "info"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = g.Close() })

	req := httptest.NewRequest(http.MethodTrace, "/v1/invitations/inv_0123456789abcdef:accept", nil)
	req.Header.Set(RequestIDHeader, "rid-7")
	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, req)
	require.Equal(t, http.StatusMethodNotAllowed, rec.Code)
	require.Equal(t, "rid-7", rec.Header().Get(RequestIDHeader))
	line := buf.String()
	require.Contains(t, line, `"request_id":"rid-7"`)
	require.Contains(t, line, `"path":"/v1/invitations/REDACTED:accept"`)
	require.NotContains(t, line, "inv_0123456789abcdef")
	require.Contains(t, line, `"level":"INFO"`, "a refused method is no server error")
}
