package app

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tessera-dev/tessera/services/platform/errs"
)

func TestParseImportCSV_DEV4(t *testing.T) {
	rows, err := ParseImportCSV("\ufeffHost_ID,type,account,display_name,notes\n" +
		"00:11:22:33:44:55,server,accounts/ACME,\"Rack, left\",\"two\nlines\"\n" +
		"x,,,Plain,\n")
	require.NoError(t, err)
	require.Equal(t, []Device{
		{HostID: "00:11:22:33:44:55", Type: TypeServer, AccountID: "ACME", DisplayName: "Rack, left", Notes: "two\nlines"},
		{HostID: "x", Type: TypeClient, DisplayName: "Plain"},
	}, rows)
	for _, bad := range []string{"", "host_id,colour\nx,red\n", "host_id,host_id\nx,y\n", "host_id\n\"unterminated\n"} {
		_, err := ParseImportCSV(bad)
		e, ok := errs.As(err)
		require.True(t, ok, "%q: %v", bad, err)
		require.Equal(t, "csv", e.Violations[0].Field, bad)
	}
	_, err = ParseImportCSV("host_id\n" + strings.Repeat("x\n", MaxImportRows+1))
	require.Error(t, err, "at most 5,000 rows")
	require.Equal(t, "unknown:ROBOT", ImportType("ROBOT"), "an unknown type is kept for validation to name")
}

// FuzzParseImportCSV: no CSV makes the import parser panic; it refuses with a
// field violation on csv or returns at most MaxImportRows rows with known types
// or a marked unknown one.
func FuzzParseImportCSV(f *testing.F) {
	for _, s := range []string{"host_id\nx\n", "device_id,id_type,host_id,type\nd,ETHER,001122334455,SERVER\n", "\"a\n", "host_id,type\n,\n,,,\n", "\ufeffhost_id\r\nx\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		rows, err := ParseImportCSV(text)
		if err != nil {
			if e, ok := errs.As(err); !ok || e.Violations[0].Field != "csv" {
				t.Fatalf("%q: refused without a csv violation: %v", text, err)
			}
			return
		}
		if len(rows) > MaxImportRows {
			t.Fatalf("%d rows", len(rows))
		}
		for _, r := range rows {
			if r.Type != TypeClient && r.Type != TypeServer && r.Type != TypeServedClient && !strings.HasPrefix(r.Type, "unknown:") {
				t.Fatalf("type %q", r.Type)
			}
		}
	})
}
