package suite_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// forgedToken is a page token made by hand: unsigned base64 JSON in the shape the
// services issue, with values chosen to break the SQL they would reach.
func forgedToken(t *testing.T, key, id, filter, orderBy string) string {
	t.Helper()
	b, err := json.Marshal(map[string]string{"k": key, "id": id, "q": `"` + filter + `"|"` + orderBy + `"`})
	require.NoError(t, err)
	return base64.RawURLEncoding.EncodeToString(b)
}

// TestForgedPageTokens: a hand-made page token that carries the right query but a
// sort key that is not of its field's kind, an ID that is not of the list's ID type,
// or a NUL or control character, is refused with a page_token field violation (400,
// never a database error) on the device lists and audit trails and on a list of
// every other service.
func TestForgedPageTokens(t *testing.T) {
	w := newDeviceWorld(t)
	dev := w.devices[0]
	type forged struct {
		name, path, orderBy, token string
	}
	var cases []forged
	// Lists whose IDs are text and that order by a creation time.
	for _, path := range []string{"/v1/devices", "/v1/accounts", "/v1/users", "/v1/entitlements", "/v1/products", "/v1/fulfillments", "/v1/consolidatedLicenses"} {
		cases = append(cases,
			forged{"time key not a time", path, "create_time", forgedToken(t, "not-a-time", "x", "", "create_time")},
			forged{"NUL in the ID", path, "", forgedToken(t, "", "a\x00b", "", "")},
			forged{"NUL in the sort key", path, "create_time", forgedToken(t, "2026-01-01 00:00:00\x00+00", "x", "", "create_time")},
			forged{"escape character in the ID", path, "", forgedToken(t, "", "a\x1b[2Jb", "", "")},
		)
	}
	// Audit trails (uuid IDs, ordered by time) and a device's history (uuid event IDs,
	// newest first).
	for _, path := range []string{"/v1/services/device/auditEvents", "/v1/services/entitlement/auditEvents", "/v1/auditEvents"} {
		cases = append(cases,
			forged{"ID not a uuid", path, "", forgedToken(t, "garbage", "zz", "", "")},
			forged{"time key not a time", path, "time", forgedToken(t, "garbage", "0f8fad5b-d9cb-469f-a165-70867728950e", "", "time")},
			forged{"NUL in the ID", path, "", forgedToken(t, "", "\x00", "", "")},
		)
	}
	history := "/v1/devices/" + dev + "/history"
	cases = append(cases,
		forged{"time key not a time", history, "", forgedToken(t, "garbage", "0f8fad5b-d9cb-469f-a165-70867728950e", "", "time desc")},
		forged{"ID not a uuid", history, "", forgedToken(t, "2026-01-01 00:00:00+00", "not-a-uuid", "", "time desc")},
		forged{"NUL in the ID", history, "", forgedToken(t, "2026-01-01 00:00:00+00", "\x00", "", "time desc")},
	)
	// The account service's own cursors (roles, access tokens, administrators).
	raw := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	cases = append(cases,
		forged{"NUL in the role ID", "/v1/roles", "", raw("c:a\x00")},
		forged{"invalid UTF-8 in the role ID", "/v1/roles", "", raw("c:a\xff")},
		forged{"NUL in the token ID", "/v1/accessTokens", "", raw("\x00")},
		forged{"invalid UTF-8 in the token ID", "/v1/accessTokens", "", raw("\xc3")},
		forged{"NUL in the last name", "/v1/administrators", "", raw(`["HOME","\u0000","A","USR-1"]`)},
		forged{"invalid UTF-8 in the account", "/v1/administrators", "", raw("[\"HO\xffME\",\"Z\",\"A\",\"USR-1\"]")},
	)
	for _, c := range cases {
		q := url.Values{"page_token": {c.token}}
		if c.orderBy != "" {
			q.Set("order_by", c.orderBy)
		}
		got := w.admin.do("GET", c.path+"?"+q.Encode(), nil)
		if !assert.Equal(t, http.StatusBadRequest, got.Status, "%s %s: %s", c.path, c.name, got.Raw) {
			continue
		}
		e, _ := got.Body["error"].(map[string]any)
		assert.Equal(t, []string{"page_token"}, fieldViolations(e), "%s %s: %s", c.path, c.name, got.Raw)
	}

	// Tokens the lists issue still page on: a device's history and the device audit
	// trail ordered by time, one entry a page.
	for _, path := range []string{history, "/v1/services/device/auditEvents?order_by=time&"} {
		sep := "?"
		if path[len(path)-1] == '&' {
			sep = ""
		}
		first := w.admin.ok("GET", path+sep+"page_size=1", nil)
		next, _ := first["next_page_token"].(string)
		require.NotEmpty(t, next, path)
		w.admin.ok("GET", path+sep+"page_size=1&page_token="+url.QueryEscape(next), nil)
	}
}
