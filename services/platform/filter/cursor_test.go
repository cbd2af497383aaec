package filter

import (
	"encoding/base64"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/tessera-dev/tessera/services/platform/errs"
)

// FuzzDecodeCursor: any page token either decodes to the cursor of its own query
// (with an ID, and no control character Encode would not have been given) or is an
// invalid page_token; encoding a decoded cursor gives it back.
func FuzzDecodeCursor(f *testing.F) {
	f.Add(Cursor{Key: "2026-01-01", ID: "ACT-1", Query: "q"}.Encode(), "q")
	f.Add(Cursor{ID: "x", Query: "other"}.Encode(), "q")
	f.Add(base64.RawURLEncoding.EncodeToString([]byte(`{"id":"a\u0000b","q":"q"}`)), "q")
	f.Add(base64.RawURLEncoding.EncodeToString([]byte("{\"id\":\"a\xffb\",\"q\":\"q\"}")), "q")
	f.Add("!!", "q")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, token, query string) {
		c, err := DecodeCursor(token, query)
		if err != nil {
			requirePageTokenInvalid(t, err)
			return
		}
		if token == "" {
			require.Nil(t, c)
			return
		}
		require.NotEmpty(t, c.ID)
		require.Equal(t, query, c.Query)
		for _, v := range []string{c.Key, c.ID, c.Query} {
			require.True(t, utf8.ValidString(v))
			require.NotContains(t, v, "\x00")
		}
		for _, r := range c.ID + c.Query {
			require.False(t, unicode.IsControl(r), "%q", c.ID)
		}
		again, err := DecodeCursor(c.Encode(), query)
		require.NoError(t, err)
		require.Equal(t, c, again)
	})
}

var pagedSchema = Schema{"create_time": {Column: "created_at", Kind: Time}, "name": {Column: "name", Kind: Text}}

// FuzzPlanCursor: a forged cursor for a list ordered by time, whose IDs are uuids,
// is refused as an invalid page_token unless its key is a time (bound as one) and
// its ID a canonical uuid, which is all a page of that list could have written.
func FuzzPlanCursor(f *testing.F) {
	q := func(order string) string { return `""|"` + order + `"` }
	f.Add("2026-12-04 19:53:30.271211+00", "0f8fad5b-d9cb-469f-a165-70867728950e", "create_time")
	f.Add("not-a-time", "0f8fad5b-d9cb-469f-a165-70867728950e", "create_time")
	f.Add("2026-01-01 00:00:00+05:30", "not-a-uuid", "create_time")
	f.Add("anything", "0F8FAD5B-D9CB-469F-A165-70867728950E", "name")
	f.Add("0000-01-01T00:00:00Z", "0f8fad5b-d9cb-469f-a165-70867728950e", "create_time desc")
	f.Fuzz(func(t *testing.T, key, id, order string) {
		token := Cursor{Key: key, ID: id, Query: q(order)}.Encode()
		plan, err := pagedSchema.PlanTyped(Query{OrderBy: order, PageToken: token}, "id", IDUUID, 1)
		if err != nil {
			require.True(t, errs.IsKind(err, errs.KindInvalid), "%v", err)
			return
		}
		require.Len(t, plan.Args, 2)
		require.Equal(t, id, plan.Args[1])
		if plan.SortKey == "created_at::text" {
			_, isTime := plan.Args[0].(time.Time)
			require.True(t, isTime, "%T", plan.Args[0])
		}
	})
}

func TestPlanRefusesForgedCursors(t *testing.T) {
	const uid = "0f8fad5b-d9cb-469f-a165-70867728950e"
	forged := []struct {
		name, order, key, id string
		idType               IDType
	}{
		{"time key not a time", "create_time", "not-a-time", "x", IDText},
		{"NUL in id", "create_time", "2026-01-01 00:00:00+00", "a\x00b", IDText},
		{"control character in id", "", "", "a\x1bb", IDText},
		{"NUL in text key", "name", "a\x00", "x", IDText},
		{"id not a uuid", "", "", "not-a-uuid", IDUUID},
		{"uuid not canonical", "", "", "{" + uid + "}", IDUUID},
		{"id not a number", "", "", "12a", IDBigint},
		{"number not canonical", "", "", "012", IDBigint},
	}
	for _, c := range forged {
		t.Run(c.name, func(t *testing.T) {
			token := Cursor{Key: c.key, ID: c.id, Query: `""|"` + c.order + `"`}.Encode()
			_, err := pagedSchema.PlanTyped(Query{OrderBy: c.order, PageToken: token}, "id", c.idType, 1)
			requirePageTokenInvalid(t, err)
		})
	}
	accepted := []struct {
		name, order, key, id string
		idType               IDType
		keyArg               any
	}{
		{"Postgres time", "create_time desc", "2026-12-04 19:53:30.271211+00", uid, IDUUID, time.Date(2026, 12, 4, 19, 53, 30, 271211000, time.UTC)},
		{"Postgres time with minute offset", "create_time", "2026-12-04 19:53:30+05:30", "x", IDText, time.Date(2026, 12, 4, 14, 23, 30, 0, time.UTC)},
		{"text key with a line break", "name", "two\nlines", "7", IDBigint, "two\nlines"},
	}
	for _, c := range accepted {
		t.Run(c.name, func(t *testing.T) {
			token := Cursor{Key: c.key, ID: c.id, Query: `""|"` + c.order + `"`}.Encode()
			plan, err := pagedSchema.PlanTyped(Query{OrderBy: c.order, PageToken: token}, "id", c.idType, 1)
			require.NoError(t, err)
			if want, ok := c.keyArg.(time.Time); ok {
				require.True(t, want.Equal(plan.Args[0].(time.Time)), "%v", plan.Args[0])
			} else {
				require.Equal(t, c.keyArg, plan.Args[0])
			}
			require.Equal(t, c.id, plan.Args[1])
		})
	}
}

func requirePageTokenInvalid(t *testing.T, err error) {
	t.Helper()
	require.Error(t, err)
	require.True(t, errs.IsKind(err, errs.KindInvalid), "%v", err)
	require.Contains(t, err.Error(), "page_token")
}
