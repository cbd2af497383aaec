package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// standIn is a gateway that records each request and answers with answer's result.
func standIn(t *testing.T, answer func(r *http.Request) (int, string)) (*httptest.Server, func() []string) {
	t.Helper()
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.RequestURI()+" "+string(b))
		mu.Unlock()
		code, body := answer(r)
		w.WriteHeader(code)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := got
		got = nil
		return out
	}
}

// Every device command sends the request the REST contract (proto/tessera/http.yaml)
// names, with its flags before or after the device ID.
func TestDeviceCommandsFollowTheRESTContract(t *testing.T) {
	srv, requests := standIn(t, func(*http.Request) (int, string) { return 200, `{"ok":true}` })
	dir := t.TempDir()
	csvFile := filepath.Join(dir, "devices.csv")
	require.NoError(t, os.WriteFile(csvFile, []byte("device_id,id_type,host_id\nd1,ETHER,001122334455\n"), 0o600))
	jsonFile := filepath.Join(dir, "devices.json")
	require.NoError(t, os.WriteFile(jsonFile, []byte(`[{"id_type":"STRING","host_id":"box-1"}]`), 0o600))
	gw := []string{"-gateway", srv.URL, "-token", "T"}
	for _, c := range []struct {
		args []string
		want string
	}{
		{
			[]string{"devices", "list", "-filter", `display_name = "edge*"`, "-type", "server", "-status", "ACTIVE", "-order-by", "create_time desc", "-page-size", "50"},
			`GET /v1/devices?filter=display_name+%3D+%22edge%2A%22&order_by=create_time+desc&page_size=50&status=DEVICE_STATUS_ACTIVE&type=DEVICE_TYPE_SERVER `,
		},
		{[]string{"devices", "list", "-type", "client"}, `GET /v1/devices?type=DEVICE_TYPE_STANDALONE `},
		{
			[]string{"devices", "create", "-id-type", "ETHER", "-host-id", "00:11:22:33:44:55", "-name", "Edge", "-account", "ACME", "-id", "edge-1", "-request-id", "r1"},
			`POST /v1/devices {"device":{"account":"accounts/ACME","display_name":"Edge","host_id":"00:11:22:33:44:55","id_type":"ETHER","type":"DEVICE_TYPE_STANDALONE"},"device_id":"edge-1","request_id":"r1"}`,
		},
		{
			[]string{"devices", "create", "-name", "Cloud", "-cloud", "-site", "eu-west", "-account", "accounts/ACME", "-request-id", "r2"},
			`POST /v1/devices {"device":{"account":"accounts/ACME","deployment":"DEPLOYMENT_CLOUD","display_name":"Cloud","site_name":"eu-west","type":"DEVICE_TYPE_SERVER"},"request_id":"r2"}`,
		},
		{
			[]string{"devices", "create", "-server", "-id-type", "FLEXID9", "-host-id", "9-12345678", "-name", "Lic", "-request-id", "r3"},
			`POST /v1/devices {"device":{"display_name":"Lic","host_id":"9-12345678","id_type":"FLEXID9","type":"DEVICE_TYPE_SERVER"},"request_id":"r3"}`,
		},
		{[]string{"devices", "get", "edge-1"}, `GET /v1/devices/edge-1 `},
		{[]string{"devices", "get", "devices/edge 2"}, `GET /v1/devices/edge%202 `},
		{
			[]string{"devices", "map", "edge-1", "-line-item", "ACT-1:2", "-request-id", "r4"},
			`POST /v1/devices/edge-1:mapLineItem {"line_item":"lineItems/ACT-1","quantity":2,"request_id":"r4"}`,
		},
		{
			[]string{"devices", "map", "edge-1", "-line-item", "ACT-1:2:2027-01-31", "-line-item", "lineItems/ACT-2:1:2027-02-01T12:30:00+02:00", "-request-id", "r5"},
			`POST /v1/devices/edge-1:mapLineItems {"items":[{"expire_time":"2027-01-31T00:00:00Z","line_item":"lineItems/ACT-1","quantity":2},{"expire_time":"2027-02-01T10:30:00Z","line_item":"lineItems/ACT-2","quantity":1}],"request_id":"r5"}`,
		},
		{
			[]string{"devices", "map", "-by-activation-id", "-validate-only", "edge-1", "-line-item", "ACT-1:3", "-request-id", "r6"},
			`POST /v1/devices/edge-1:mapLineItems {"items":[{"activation_id":"ACT-1","quantity":3}],"request_id":"r6","validate_only":true}`,
		},
		{
			[]string{"devices", "unmap", "edge-1", "-line-item", "ACT-1", "-quantity", "1", "-request-id", "r7"},
			`POST /v1/devices/edge-1:unmapLineItem {"line_item":"lineItems/ACT-1","quantity":1,"request_id":"r7"}`,
		},
		{
			[]string{"devices", "return", "edge-1", "-to", "edge-2", "-rma", "RMA-9", "-request-id", "r8"},
			`POST /v1/devices/edge-1:return {"destination_device":"devices/edge-2","request_id":"r8","rma_number":"RMA-9"}`,
		},
		{[]string{"devices", "return", "edge-1", "-request-id", "r9"}, `POST /v1/devices/edge-1:return {"request_id":"r9"}`},
		{
			[]string{"devices", "move", "edge-1", "-to-account", "ACME-EU", "-pool", "-request-id", "r10"},
			`POST /v1/devices/edge-1:move {"pool":true,"request_id":"r10","to_account":"accounts/ACME-EU"}`,
		},
		{[]string{"devices", "history", "edge-1", "-page-size", "20"}, `GET /v1/devices/edge-1/history?page_size=20 `},
		{[]string{"devices", "preview", "edge-1"}, `GET /v1/devices/edge-1/licensePreview `},
		{[]string{"devices", "import", csvFile}, `POST /v1/devices:import {"csv":"device_id,id_type,host_id\nd1,ETHER,001122334455\n"}`},
		{[]string{"devices", "import", jsonFile}, `POST /v1/devices:import {"devices":[{"host_id":"box-1","id_type":"STRING"}]}`},
	} {
		var out bytes.Buffer
		require.NoError(t, run(append(c.args, gw...), &out), c.args)
		require.Contains(t, out.String(), `"ok": true`, c.args)
		require.Equal(t, []string{c.want}, requests(), c.args)
	}

	// Without -request-id, a seat-changing command still sends one (a new one).
	require.NoError(t, run(append([]string{"devices", "unmap", "edge-1", "-line-item", "ACT-1", "-quantity", "1"}, gw...), &bytes.Buffer{}))
	got := requests()
	require.Len(t, got, 1)
	require.Regexp(t, `^POST /v1/devices/edge-1:unmapLineItem \{"line_item":"lineItems/ACT-1","quantity":1,"request_id":"tessctl-[A-Z2-7]{16}"\}$`, got[0])
}

// export writes the gateway's CSV as it is, for `tessctl devices export > Devices.csv`.
func TestDevicesExportWritesTheCSV(t *testing.T) {
	csv := "name,device_id,display_name\ndevices/edge-1,edge-1,\"Edge, east\"\n"
	srv, requests := standIn(t, func(*http.Request) (int, string) { return 200, csv })
	var out bytes.Buffer
	require.NoError(t, run([]string{"devices", "export", "-gateway", srv.URL, "-filter", `status = "ACTIVE"`}, &out))
	require.Equal(t, csv, out.String())
	require.Equal(t, []string{`GET /v1/devices:export?filter=status+%3D+%22ACTIVE%22 `}, requests())
}

// An import whose rows are partly refused prints the answer and fails, so that a
// script notices; a refusal of the whole request carries the server's answer.
func TestDevicesImportReportsRefusedRows(t *testing.T) {
	srv, _ := standIn(t, func(r *http.Request) (int, string) {
		if strings.Contains(r.URL.Path, "devices:import") {
			return 200, `{"created":1,"errors":[{"row":2,"field":"device.host_id","description":"is not a MAC address"}]}`
		}
		return 400, `{"error":{"code":3,"message":"device.display_name: is required"}}`
	})
	file := filepath.Join(t.TempDir(), "d.csv")
	require.NoError(t, os.WriteFile(file, []byte("device_id,id_type,host_id\n"), 0o600))
	var out bytes.Buffer
	err := run([]string{"devices", "import", "-gateway", srv.URL, file}, &out)
	require.ErrorContains(t, err, "1 rows were refused")
	require.Contains(t, out.String(), `"description": "is not a MAC address"`)

	err = run([]string{"devices", "create", "-gateway", srv.URL, "-request-id", "r", "-id-type", "STRING", "-host-id", "x"}, &bytes.Buffer{})
	require.ErrorContains(t, err, "400 Bad Request")
	require.ErrorContains(t, err, "device.display_name: is required")
}

// Mistakes the CLI can see are refused before anything is sent.
func TestDeviceCommandsRefuseBadInputLocally(t *testing.T) {
	srv, requests := standIn(t, func(*http.Request) (int, string) { return 200, `{}` })
	badJSON := filepath.Join(t.TempDir(), "bad.json")
	require.NoError(t, os.WriteFile(badJSON, []byte(`{"rows": 1}`), 0o600))
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"devices"}, "devices needs a subcommand"},
		{[]string{"devices", "explode"}, "unknown command devices explode"},
		{[]string{"devices", "get"}, "usage: tessctl devices get ID"},
		{[]string{"devices", "get", "a", "b"}, "usage: tessctl devices get ID"},
		{[]string{"devices", "list", "-type", "toaster"}, `-type "toaster": one of standalone, server, served_client`},
		{[]string{"devices", "list", "-status", "gone"}, `-status "gone"`},
		{[]string{"devices", "list", "extra"}, "takes no arguments"},
		{[]string{"devices", "create", "-cloud", "-name", "c"}, "-cloud needs -site"},
		{[]string{"devices", "create", "-cloud", "-site", "s", "-host-id", "h"}, "host ID is generated"},
		{[]string{"devices", "map", "edge-1"}, "at least one -line-item"},
		{[]string{"devices", "map", "edge-1", "-line-item", "ACT-1"}, "want ACTIVATION_ID:QTY"},
		{[]string{"devices", "map", "edge-1", "-line-item", "ACT-1:0"}, "quantity \"0\""},
		{[]string{"devices", "map", "edge-1", "-line-item", "ACT-1:1:tomorrow"}, `expiry "tomorrow"`},
		{[]string{"devices", "unmap", "edge-1", "-line-item", "ACT-1"}, "-quantity N"},
		{[]string{"devices", "move", "edge-1"}, "-to-account"},
		{[]string{"devices", "import"}, "devices import FILE"},
		{[]string{"devices", "import", badJSON}, "not a JSON list of devices"},
		{[]string{"devices", "import", filepath.Join(t.TempDir(), "missing.csv")}, "no such file"},
	} {
		err := run(append(c.args, "-gateway", srv.URL), &bytes.Buffer{})
		require.ErrorContains(t, err, c.want, c.args)
	}
	require.Empty(t, requests(), "nothing was sent")
}

func TestParseInterspersed(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	a := fs.String("a", "", "")
	var l stringList
	fs.Var(&l, "l", "")
	pos, err := parseInterspersed(fs, []string{"-a", "1", "ID", "-l", "x", "--l=y", "second", "--", "-not-a-flag"})
	require.NoError(t, err)
	require.Equal(t, []string{"ID", "second", "-not-a-flag"}, pos)
	require.Equal(t, "1", *a)
	require.Equal(t, stringList{"x", "y"}, l)
	_, err = parseInterspersed(fs, []string{"ID", "-nope"})
	require.Error(t, err)
}

func TestParseLineItemSpec(t *testing.T) {
	s, err := parseLineItemSpec("ACT-1:5:2027-01-31T23:59:59Z")
	require.NoError(t, err)
	require.Equal(t, lineItemSpec{ActivationID: "ACT-1", Quantity: 5, Expiry: time.Date(2027, 1, 31, 23, 59, 59, 0, time.UTC)}, s)
	s, err = parseLineItemSpec("lineItems/ACT-1:1000000000")
	require.NoError(t, err)
	require.Equal(t, lineItemSpec{ActivationID: "ACT-1", Quantity: 1_000_000_000}, s)
	for _, bad := range []string{"", ":1", "ACT:", "ACT:-1", "ACT:1000000001", "ACT:1.5", "A/B:1", "A\x00:1", "ACT:1:", "ACT:1:2027-13-01"} {
		_, err := parseLineItemSpec(bad)
		require.Error(t, err, "%q", bad)
	}
}

// Whatever the input, the parser either refuses it or returns a spec that reads
// back to itself, with a quantity in bounds and an activation ID that needs no
// escaping in a resource name.
func FuzzParseLineItemSpec(f *testing.F) {
	for _, s := range []string{"ACT-1:2", "ACT-1:2:2027-01-31", "ACT-1:2:2027-01-31T10:00:00+02:00", "lineItems/A:1", "A:1:x", "::", "A:99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := parseLineItemSpec(in)
		if err != nil {
			return
		}
		if s.ActivationID == "" || strings.ContainsAny(s.ActivationID, "/?#% \x00") || s.Quantity < 1 || s.Quantity > maxQuantity {
			t.Fatalf("%q gave %+v", in, s)
		}
		again, err := parseLineItemSpec(s.String())
		if err != nil {
			t.Fatalf("%q → %q does not read back: %v", in, s.String(), err)
		}
		if again.ActivationID != s.ActivationID || again.Quantity != s.Quantity || !again.Expiry.Equal(s.Expiry) {
			t.Fatalf("%q → %+v → %+v", in, s, again)
		}
		if b, err := json.Marshal(map[string]any{"expire_time": s.Expiry.Format(time.RFC3339Nano)}); err != nil || !json.Valid(b) {
			t.Fatalf("%q: expiry does not encode: %v", in, err)
		}
	})
}
