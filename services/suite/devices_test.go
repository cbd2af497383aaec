package suite_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tessera-dev/tessera/services/suite/suitetest"
)

// modelWorld is a producer tenant (order-co: accounts ACME and OTHER, products cad
// and sim) with customer users, and a rival tenant.
type modelWorld struct {
	env   *suitetest.Env
	api   rest
	admin rest // producer admin of order-co
	cleo  rest // customer_admin of ACME
	carl  rest // customer_user of ACME: sees devices, manages none
	dora  rest // of ACME with a role that manages devices but not their users
	olga  rest // customer_admin of OTHER
	rival rest // producer admin of another tenant
	db    *pgx.Conn
}

func newModelWorld(t *testing.T) modelWorld {
	env := suitetest.Start(t)
	api, admin := orderWorldIn(t, env)
	admin.ok("POST", "/v1/roles", map[string]any{"role_id": "device_keeper", "role": map[string]any{
		"display_name": "Device keeper", "permissions": []string{"devices.view", "devices.manage"},
	}})
	user := func(name, account, role string) rest {
		admin.ok("POST", "/v1/users", map[string]any{"password": "Pass-" + name + "-1", "user": map[string]any{
			"username": name, "first_name": name, "last_name": "X", "email": name + "@" + strings.ToLower(account) + ".example",
			"memberships": []any{map[string]any{"account": "accounts/" + account, "roles": []string{role}}},
		}})
		return api.as(login(api, "order-co", name, "Pass-"+name+"-1"))
	}
	createTenant(api.as(env.OperatorToken), "dev-rival", "Admin-Password-2")
	db, err := pgx.Connect(t.Context(), env.DatabaseURL)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close(t.Context()) })
	return modelWorld{
		env: env, api: api, admin: admin,
		cleo: user("cleo", "ACME", "customer_admin"), carl: user("carl", "ACME", "customer_user"),
		dora: user("dora", "ACME", "device_keeper"), olga: user("olga", "OTHER", "customer_admin"),
		rival: api.as(login(api, "dev-rival", "admin", "Admin-Password-2")), db: db,
	}
}

func newDevice(id string, fields map[string]any) map[string]any {
	d := map[string]any{"display_name": "Device " + id, "type": "DEVICE_TYPE_STANDALONE"}
	for k, v := range fields {
		d[k] = v
	}
	body := map[string]any{"device": d}
	if id != "" {
		body["device_id"] = id
	}
	return body
}

// events counts the device service's audit records of a subject (written in the
// transaction of each change), optionally whose payload contains a text.
func (w modelWorld) events(t *testing.T, subject, contains string) int {
	var n int
	require.NoError(t, w.db.QueryRow(t.Context(), `SELECT count(*) FROM device.audit_log WHERE tenant_id = 'order-co' AND subject = $1
		AND payload::text LIKE '%' || $2 || '%'`, "tessera.device."+subject, contains).Scan(&n))
	return n
}

func (w modelWorld) storedDevices(t *testing.T) int {
	var n int
	require.NoError(t, w.db.QueryRow(t.Context(), `SELECT count(*) FROM device.devices WHERE tenant_id = 'order-co'`).Scan(&n))
	return n
}

// deviceIDs walks ListDevices in pages of pageSize, each device served once.
func deviceIDs(as rest, q url.Values, pageSize int) []string {
	as.t.Helper()
	var out []string
	token := ""
	for range 1000 {
		page := url.Values{"page_size": {fmt.Sprint(pageSize)}}
		for k, v := range q {
			page[k] = v
		}
		if token != "" {
			page.Set("page_token", token)
		}
		body := as.ok("GET", "/v1/devices?"+page.Encode(), nil)
		items, _ := body["devices"].([]any)
		require.LessOrEqual(as.t, len(items), pageSize)
		for _, it := range items {
			id := it.(map[string]any)["device_id"].(string)
			require.NotContains(as.t, out, id, "served twice")
			out = append(out, id)
		}
		if token, _ = body["next_page_token"].(string); token == "" {
			return out
		}
	}
	as.t.Fatal("paging does not end")
	return nil
}

// TestDeviceModel_DEV1: every field of a device is kept; ID types are checked and
// normalised per type, publisher-defined types included; a server and a standalone
// device may share an identity, two standalone devices may not; cloud servers get a
// generated ID and need a site name; served clients are not created by hand.
func TestDeviceModel_DEV1(t *testing.T) {
	w := newModelWorld(t)
	admin := w.admin
	gw := admin.ok("POST", "/v1/devices", newDevice("gw-1", map[string]any{
		"account": "accounts/ACME", "display_name": "Gateway", "id_type": "ETHER", "host_id": "00:1A:2B:3C:4D:5E",
		"model": "GW-200", "series": "S1", "site_name": "Berlin", "notes": "rack 4\nshelf 2", "publisher_identity": "acme-gw",
		"attributes": map[string]string{"rack": "4"}, "virtualization": map[string]any{"hypervisor": "KVM", "virtual": true, "vm_name": "gw-vm"},
	}))
	want := map[string]any{
		"name": "devices/gw-1", "device_id": "gw-1", "account": "accounts/ACME", "display_name": "Gateway", "id_type": "ETHER",
		"host_id": "001a2b3c4d5e", "type": "DEVICE_TYPE_STANDALONE", "status": "DEVICE_STATUS_ACTIVE", "deployment": "DEPLOYMENT_LOCAL",
		"model": "GW-200", "series": "S1", "site_name": "Berlin", "notes": "rack 4\nshelf 2", "publisher_identity": "acme-gw",
		"attributes": map[string]any{"rack": "4"}, "virtualization": map[string]any{"hypervisor": "KVM", "virtual": true, "vm_name": "gw-vm", "vm_uuid": "", "physical_host_id": "", "container_id": ""},
	}
	read := admin.ok("GET", "/v1/devices/gw-1", nil)
	for k, v := range want {
		assert.Equal(t, v, gw[k], "created %s", k)
		assert.Equal(t, v, read[k], "read %s", k)
	}
	require.NotEmpty(t, read["create_time"])
	require.NotEmpty(t, read["update_time"])

	// A server may share the standalone device's identity; a second standalone may not.
	srv := admin.ok("POST", "/v1/devices", newDevice("gw-1-srv", map[string]any{"account": "accounts/ACME", "type": "DEVICE_TYPE_SERVER", "id_type": "ether", "host_id": "001a2b3c4d5e"}))
	require.Equal(t, "001a2b3c4d5e", srv["host_id"])
	e := admin.refused(http.StatusConflict, "POST", "/v1/devices", newDevice("gw-2", map[string]any{"account": "accounts/ACME", "id_type": "ETHER", "host_id": "00-1a-2b-3c-4d-5e"}))
	require.NotContains(t, e["message"], "gw-1", "the refusal does not name the device holding the identity: it may be another account's")
	require.Contains(t, e["message"], "ETHER")

	// ID types: each type's rules, and the license host ID syntax when no type is given.
	for _, c := range []struct{ idType, in, want string }{
		{"INTERNET", "10.20.30.40", "10.20.30.40"},
		{"INTERNET6", "2001:DB8::0:1", "2001:db8::1"},
		{"FLEXID9", "ABCD1234", "9-abcd1234"},
		{"FLEXID10", "10-00ff00ff", "10-00ff00ff"},
		{"VM_UUID", "4c4c4544-0044-4b10-8054-b4c04f4e4a31", "4C4C4544-0044-4B10-8054-B4C04F4E4A31"},
		{"CONTAINER_ID", "ABCDEF012345", "abcdef012345"},
		{"TOLERANT", "ab12-cd34", "AB12CD34"},
		{"USER", "jdoe", "jdoe"},
		{"STRING", "  serial 77 ", "serial 77"},
		{"EXTENDED", "hostname=build-7", "HOSTNAME=build-7"},
		{"", "HOSTNAME=lab-3", "HOSTNAME=lab-3"},
		{"", "VM_UUID=4c4c4544-0044-4b10-8054-b4c04f4e4a32", "4C4C4544-0044-4B10-8054-B4C04F4E4A32"},
	} {
		got := admin.ok("POST", "/v1/devices", newDevice("", map[string]any{"account": "accounts/ACME", "id_type": c.idType, "host_id": c.in}))
		require.Equal(t, c.want, got["host_id"], "%s %q", c.idType, c.in)
	}
	before := w.storedDevices(t)
	for _, c := range []struct {
		name   string
		device map[string]any
		field  string
	}{
		{"bad Ethernet address", map[string]any{"id_type": "ETHER", "host_id": "00:1a:2b"}, "device.host_id"},
		{"IPv6 given as INTERNET", map[string]any{"id_type": "INTERNET", "host_id": "::1"}, "device.host_id"},
		{"unknown ID type", map[string]any{"id_type": "NOPE", "host_id": "x"}, "device.id_type"},
		{"type without ID", map[string]any{"id_type": "ETHER"}, "device.host_id"},
		{"served client", map[string]any{"type": "DEVICE_TYPE_SERVED_CLIENT", "host_id": "HOSTNAME=s"}, "device.type"},
		{"no type", map[string]any{"type": "DEVICE_TYPE_UNSPECIFIED", "host_id": "HOSTNAME=s"}, "device.type"},
		{"cloud client", map[string]any{"deployment": "DEPLOYMENT_CLOUD", "site_name": "x"}, "device.deployment"},
		{"unknown deployment", map[string]any{"deployment": 99, "host_id": "HOSTNAME=e1"}, "device.deployment"},
		{"unknown type", map[string]any{"type": 7, "host_id": "HOSTNAME=e2"}, "device.type"},
		{"cloud server without site", map[string]any{"type": "DEVICE_TYPE_SERVER", "deployment": "DEPLOYMENT_CLOUD"}, "device.site_name"},
		{"cloud server with an ID", map[string]any{"type": "DEVICE_TYPE_SERVER", "deployment": "DEPLOYMENT_CLOUD", "site_name": "x", "host_id": "HOSTNAME=c"}, "device.host_id"},
		{"backup of a client", map[string]any{"type": "DEVICE_TYPE_STANDALONE", "backup_server": "devices/gw-1-srv", "host_id": "HOSTNAME=b1"}, "device.backup_server"},
		{"backup is no server", map[string]any{"type": "DEVICE_TYPE_SERVER", "backup_server": "devices/gw-1", "host_id": "HOSTNAME=b2"}, "device.backup_server"},
		{"backup does not exist", map[string]any{"type": "DEVICE_TYPE_SERVER", "backup_server": "devices/nope", "host_id": "HOSTNAME=b3"}, "device.backup_server"},
		{"unknown account", map[string]any{"account": "accounts/NOPE", "host_id": "HOSTNAME=b4"}, "device.account"},
		{"status at creation", map[string]any{"status": "DEVICE_STATUS_OBSOLETE", "host_id": "HOSTNAME=b5"}, "device.status"},
		{"empty name", map[string]any{"display_name": " ", "host_id": "HOSTNAME=b6"}, "device.display_name"},
		{"51 attributes", map[string]any{"host_id": "HOSTNAME=b7", "attributes": func() map[string]string {
			m := map[string]string{}
			for i := range 51 {
				m[fmt.Sprint("k", i)] = "v"
			}
			return m
		}()}, "device.attributes"},
	} {
		e := admin.refused(http.StatusBadRequest, "POST", "/v1/devices", newDevice("", c.device))
		require.Contains(t, fieldViolations(e), c.field, c.name)
	}
	require.Equal(t, before, w.storedDevices(t), "refused devices store nothing")

	// Backup servers: an active server of the same owner that the caller sees, not
	// backed up by the server itself.
	withBackup := admin.ok("POST", "/v1/devices", newDevice("srv-b", map[string]any{"account": "accounts/ACME", "type": "DEVICE_TYPE_SERVER", "host_id": "HOSTNAME=srv-b", "backup_server": "devices/gw-1-srv"}))
	require.Equal(t, "devices/gw-1-srv", withBackup["backup_server"])
	e = admin.refused(http.StatusBadRequest, "POST", "/v1/devices", newDevice("", map[string]any{"account": "accounts/OTHER", "type": "DEVICE_TYPE_SERVER", "host_id": "HOSTNAME=b7", "backup_server": "devices/gw-1-srv"}))
	require.Equal(t, []string{"device.backup_server"}, fieldViolations(e), "another account's server: each owner would see the other's device")
	e = admin.refused(http.StatusBadRequest, "PATCH", "/v1/devices/gw-1-srv?update_mask=backup_server", map[string]any{"backup_server": "devices/srv-b"})
	require.Equal(t, []string{"device.backup_server"}, fieldViolations(e), "no circles")
	w.rival.ok("POST", "/v1/devices", newDevice("rival-srv", map[string]any{"type": "DEVICE_TYPE_SERVER", "host_id": "HOSTNAME=r"}))
	e = admin.refused(http.StatusBadRequest, "POST", "/v1/devices", newDevice("", map[string]any{"type": "DEVICE_TYPE_SERVER", "host_id": "HOSTNAME=b8", "backup_server": "devices/rival-srv"}))
	require.Equal(t, []string{"device.backup_server"}, fieldViolations(e), "another tenant's server does not exist here")
	e = w.olga.refused(http.StatusBadRequest, "POST", "/v1/devices", newDevice("", map[string]any{"account": "accounts/OTHER", "type": "DEVICE_TYPE_SERVER", "host_id": "HOSTNAME=b9", "backup_server": "devices/gw-1-srv"}))
	require.Equal(t, []string{"device.backup_server"}, fieldViolations(e), "nor does a server the caller cannot see")

	// Cloud servers: a generated, unguessable STRING ID; retries return the first.
	cloud := map[string]any{"device": map[string]any{"display_name": "Cloud", "type": "DEVICE_TYPE_SERVER", "deployment": "DEPLOYMENT_CLOUD", "site_name": "eu-1", "account": "accounts/ACME"}, "request_id": "cloud-1"}
	c1 := admin.ok("POST", "/v1/devices", cloud)
	require.Equal(t, "STRING", c1["id_type"])
	require.GreaterOrEqual(t, len(c1["host_id"].(string)), 24)
	require.Equal(t, c1, admin.ok("POST", "/v1/devices", cloud), "a retry returns the first device")
	cloud["request_id"] = "cloud-2"
	c2 := admin.ok("POST", "/v1/devices", cloud)
	require.NotEqual(t, c1["host_id"], c2["host_id"])
	require.NotEqual(t, c1["name"], c2["name"])
	require.Equal(t, "DEPLOYMENT_CLOUD", c2["deployment"])

	// Owners: producers may leave a device unowned; customers own theirs.
	unowned := admin.ok("POST", "/v1/devices", newDevice("", map[string]any{"host_id": "HOSTNAME=loose"}))
	require.Empty(t, unowned["account"])
	require.Equal(t, []string{"device.account"}, fieldViolations(w.cleo.refused(http.StatusBadRequest, "POST", "/v1/devices", newDevice("", map[string]any{"host_id": "HOSTNAME=c1"}))))
	require.Equal(t, []string{"device.account"}, fieldViolations(w.cleo.refused(http.StatusBadRequest, "POST", "/v1/devices", newDevice("", map[string]any{"account": "accounts/OTHER", "host_id": "HOSTNAME=c1"}))))
	require.Equal(t, "accounts/ACME", w.cleo.ok("POST", "/v1/devices", newDevice("", map[string]any{"account": "accounts/ACME", "host_id": "HOSTNAME=c1"}))["account"])
	w.carl.refused(http.StatusForbidden, "POST", "/v1/devices", newDevice("", map[string]any{"account": "accounts/ACME", "host_id": "HOSTNAME=c2"}))

	// Publisher-defined ID types: producers only, upper-case names that are not
	// built-in, a bounded RE2 pattern; per tenant.
	created := admin.ok("POST", "/v1/deviceIdTypes", map[string]any{"id_type": "SERIAL", "display_name": "Serial", "pattern": "SN-[0-9A-F]{6}", "case_insensitive": true})
	require.Equal(t, "deviceIdTypes/SERIAL", created["name"])
	admin.refused(http.StatusConflict, "POST", "/v1/deviceIdTypes", map[string]any{"id_type": "SERIAL", "pattern": "x"})
	for _, body := range []map[string]any{
		{"id_type": "ETHER", "pattern": "x"}, {"id_type": "lower", "pattern": "x"}, {"id_type": "OK", "pattern": "(x"}, {"id_type": "OK", "pattern": "(a{1000}){1000}"},
	} {
		e := admin.refused(http.StatusBadRequest, "POST", "/v1/deviceIdTypes", body)
		require.Len(t, fieldViolations(e), 1, "%v", body)
	}
	w.cleo.refused(http.StatusForbidden, "POST", "/v1/deviceIdTypes", map[string]any{"id_type": "MINE", "pattern": "x"})
	typeNames := func(as rest) []string {
		var out []string
		for _, it := range as.ok("GET", "/v1/deviceIdTypes", nil)["device_id_types"].([]any) {
			out = append(out, it.(map[string]any)["id_type"].(string))
		}
		return out
	}
	require.Subset(t, typeNames(w.cleo), []string{"ETHER", "INTERNET", "INTERNET6", "FLEXID9", "FLEXID10", "STRING", "USER", "VM_UUID", "TOLERANT", "EXTENDED", "CONTAINER_ID", "SERIAL"})
	require.NotContains(t, typeNames(w.rival), "SERIAL", "ID types are per tenant")
	serial := admin.ok("POST", "/v1/devices", newDevice("", map[string]any{"id_type": "serial", "host_id": "sn-00abcd"}))
	require.Equal(t, []any{"SERIAL", "SN-00ABCD"}, []any{serial["id_type"], serial["host_id"]})
	require.Equal(t, []string{"device.host_id"}, fieldViolations(admin.refused(http.StatusBadRequest, "POST", "/v1/devices", newDevice("", map[string]any{"id_type": "SERIAL", "host_id": "SN-XYZ"}))))
	require.Equal(t, []string{"device.id_type"}, fieldViolations(w.rival.refused(http.StatusBadRequest, "POST", "/v1/devices", newDevice("", map[string]any{"id_type": "SERIAL", "host_id": "SN-00ABCD"}))))

	require.Equal(t, w.storedDevices(t), w.events(t, "device.created", ""), "one DeviceCreated per stored device")
	require.Equal(t, 1, w.events(t, "id_type.created", "SERIAL"))
}

// TestDeviceUpdate_DEV2: owners and producers change a device's descriptive fields
// and its ACTIVE/OBSOLETE status through an update mask; the device user needs its
// own permission; nobody else changes anything.
func TestDeviceUpdate_DEV2(t *testing.T) {
	w := newModelWorld(t)
	w.admin.ok("POST", "/v1/devices", newDevice("box", map[string]any{"account": "accounts/ACME", "host_id": "HOSTNAME=box"}))
	w.admin.ok("POST", "/v1/devices", newDevice("srv", map[string]any{"account": "accounts/ACME", "type": "DEVICE_TYPE_SERVER", "host_id": "HOSTNAME=srv"}))
	w.admin.ok("POST", "/v1/devices", newDevice("srv2", map[string]any{"account": "accounts/ACME", "type": "DEVICE_TYPE_SERVER", "host_id": "HOSTNAME=srv2"}))

	patch := func(as rest, id, mask string, body map[string]any) reply {
		return as.do("PATCH", "/v1/devices/"+id+"?update_mask="+url.QueryEscape(mask), body)
	}
	got := patch(w.cleo, "box", "display_name,model,series,site_name,notes,publisher_identity,attributes,virtualization,status,device_user", map[string]any{
		"display_name": "Box One", "model": "M2", "series": "S9", "site_name": "Lyon", "notes": "moved", "publisher_identity": "pid",
		"attributes": map[string]string{"floor": "2"}, "virtualization": map[string]any{"hypervisor": "VMWARE", "virtual": true},
		"status": "DEVICE_STATUS_OBSOLETE", "device_user": "the lab", "host_id": "ignored: not in the mask",
	})
	require.Equal(t, http.StatusOK, got.Status, "%s", got.Raw)
	for k, v := range map[string]any{
		"display_name": "Box One", "model": "M2", "series": "S9", "site_name": "Lyon", "notes": "moved", "publisher_identity": "pid",
		"attributes": map[string]any{"floor": "2"}, "virtualization": map[string]any{"hypervisor": "VMWARE", "virtual": true, "vm_name": "", "vm_uuid": "", "physical_host_id": "", "container_id": ""},
		"status": "DEVICE_STATUS_OBSOLETE", "device_user": "the lab", "host_id": "HOSTNAME=box",
	} {
		assert.Equal(t, v, w.admin.ok("GET", "/v1/devices/box", nil)[k], k)
	}
	require.Equal(t, 1, w.events(t, "device.updated", `"device_user"`))
	require.Equal(t, "DEVICE_STATUS_ACTIVE", w.admin.ok("PATCH", "/v1/devices/box?update_mask=status", map[string]any{"status": "DEVICE_STATUS_ACTIVE"})["status"], "back to ACTIVE")
	require.Equal(t, "devices/srv2", w.admin.ok("PATCH", "/v1/devices/srv?update_mask=backup_server", map[string]any{"backup_server": "devices/srv2"})["backup_server"])

	updated := w.events(t, "device.updated", "")
	for _, c := range []struct {
		name, id, mask string
		body           map[string]any
		field          string
	}{
		{"returned by update", "box", "status", map[string]any{"status": "DEVICE_STATUS_RETURNED"}, "device.status"},
		{"identity", "box", "host_id", map[string]any{"host_id": "HOSTNAME=x"}, "update_mask"},
		{"no mask", "box", "", map[string]any{"display_name": "x"}, "update_mask"},
		{"empty name", "box", "display_name", map[string]any{"display_name": ""}, "device.display_name"},
		{"backup of a client", "box", "backup_server", map[string]any{"backup_server": "devices/srv"}, "device.backup_server"},
		{"own backup", "srv", "backup_server", map[string]any{"backup_server": "devices/srv"}, "device.backup_server"},
	} {
		r := patch(w.admin, c.id, c.mask, c.body)
		require.Equal(t, http.StatusBadRequest, r.Status, "%s: %s", c.name, r.Raw)
		require.Contains(t, fieldViolations(r.Body["error"].(map[string]any)), c.field, c.name)
	}
	require.Equal(t, http.StatusForbidden, patch(w.carl, "box", "notes", map[string]any{"notes": "x"}).Status, "no devices.manage")
	require.Equal(t, http.StatusForbidden, patch(w.dora, "box", "device_user", map[string]any{"device_user": "x"}).Status, "no devices.edit_user")
	require.Equal(t, http.StatusOK, patch(w.dora, "box", "notes", map[string]any{"notes": "dora was here"}).Status)
	require.Equal(t, http.StatusNotFound, patch(w.olga, "box", "notes", map[string]any{"notes": "x"}).Status, "another account's device is not seen")
	require.Equal(t, http.StatusNotFound, patch(w.rival, "box", "notes", map[string]any{"notes": "x"}).Status, "another tenant's device does not exist")
	require.Equal(t, "dora was here", w.admin.ok("GET", "/v1/devices/box", nil)["notes"])
	require.Equal(t, updated+1, w.events(t, "device.updated", ""), "refusals write nothing")
}

// TestListDevices_DEV2: lists filter by type and status, search text fields with
// wildcards, sort, page with tokens bound to their query, search by account
// (owned or holding its seats), keep to what the caller sees, and export as CSV.
func TestListDevices_DEV2(t *testing.T) {
	w := newModelWorld(t)
	for i := range 30 {
		w.admin.ok("POST", "/v1/devices", newDevice(fmt.Sprintf("edge-%02d", i), map[string]any{"account": "accounts/ACME", "display_name": fmt.Sprintf("Edge %02d", i), "host_id": fmt.Sprintf("HOSTNAME=edge-%02d", i)}))
	}
	for i := range 5 {
		w.admin.ok("POST", "/v1/devices", newDevice(fmt.Sprintf("srv-%d", i), map[string]any{"account": "accounts/ACME", "display_name": fmt.Sprintf("Server %d", i), "type": "DEVICE_TYPE_SERVER", "host_id": fmt.Sprintf("HOSTNAME=srv-%d", i)}))
	}
	for i := range 3 {
		w.admin.ok("POST", "/v1/devices", newDevice(fmt.Sprintf("other-%d", i), map[string]any{"account": "accounts/OTHER", "display_name": fmt.Sprintf("Other %d", i), "host_id": fmt.Sprintf("HOSTNAME=other-%d", i)}))
	}
	w.admin.ok("POST", "/v1/devices", newDevice("loose", map[string]any{"display_name": "Loose", "host_id": "HOSTNAME=loose"}))
	w.admin.ok("PATCH", "/v1/devices/edge-07?update_mask=status", map[string]any{"status": "DEVICE_STATUS_OBSOLETE"})

	ids := func(as rest, q url.Values) []string { return deviceIDs(as, q, 7) }
	require.Len(t, ids(w.admin, nil), 39, "producers see every device, unowned ones too")
	require.Len(t, ids(w.admin, url.Values{"type": {"DEVICE_TYPE_SERVER"}}), 5)
	require.Equal(t, []string{"edge-07"}, ids(w.admin, url.Values{"status": {"DEVICE_STATUS_OBSOLETE"}}))
	require.Len(t, ids(w.admin, url.Values{"type": {"DEVICE_TYPE_STANDALONE"}, "status": {"DEVICE_STATUS_ACTIVE"}}), 33)
	require.Len(t, ids(w.admin, url.Values{"filter": {`display_name = "Edge 1*"`}}), 10, "trailing wildcard")
	require.Equal(t, []string{"edge-09", "edge-19", "edge-29"}, ids(w.admin, url.Values{"filter": {`display_name = "*9"`}, "order_by": {"display_name"}}), "leading wildcard")
	require.Equal(t, []string{"srv-4", "srv-3", "srv-2", "srv-1", "srv-0"}, ids(w.admin, url.Values{"filter": {`type = SERVER`}, "order_by": {"display_name desc"}}))
	require.Equal(t, []string{"edge-03"}, ids(w.admin, url.Values{"filter": {`host_id = "hostname=EDGE-03" AND account = "accounts/ACME"`}}))
	require.Len(t, ids(w.admin, url.Values{"filter": {`account = "accounts/OTHER"`}}), 3)
	require.Len(t, ids(w.admin, url.Values{"filter": {`account != "accounts/OTHER"`}}), 36, "unowned devices included")
	require.Len(t, ids(w.admin, url.Values{"filter": {`create_time > "2000-01-01"`}}), 39)

	require.Len(t, ids(w.cleo, nil), 35, "a customer sees its account's devices")
	require.Len(t, ids(w.olga, nil), 3)
	require.Empty(t, ids(w.rival, nil), "another tenant sees none")
	require.Empty(t, ids(w.cleo, url.Values{"filter": {`account = "accounts/OTHER"`}}), "a filter never widens what a caller sees")

	first := w.admin.ok("GET", "/v1/devices?page_size=2&filter="+url.QueryEscape(`type = STANDALONE`), nil)
	token := first["next_page_token"].(string)
	require.NotEmpty(t, token)
	require.Equal(t, []string{"page_token"}, fieldViolations(w.admin.refused(http.StatusBadRequest, "GET", "/v1/devices?page_size=2&page_token="+token, nil)), "a token belongs to its query")
	require.Equal(t, []string{"page_token"}, fieldViolations(w.admin.refused(http.StatusBadRequest, "GET", "/v1/devices?page_size=2&type=DEVICE_TYPE_SERVER&filter="+url.QueryEscape(`type = STANDALONE`)+"&page_token="+token, nil)), "the shortcuts too")
	for _, q := range []string{`nope = 1`, `display_name`, `type = ROBOT`, `account : "x"`} {
		require.Equal(t, []string{"filter"}, fieldViolations(w.admin.refused(http.StatusBadRequest, "GET", "/v1/devices?filter="+url.QueryEscape(q), nil)), q)
	}
	require.Equal(t, []string{"order_by"}, fieldViolations(w.admin.refused(http.StatusBadRequest, "GET", "/v1/devices?order_by=notes%20sideways", nil)))
	require.Equal(t, []string{"order_by"}, fieldViolations(w.admin.refused(http.StatusBadRequest, "GET", "/v1/devices?order_by=account", nil)))
	require.Equal(t, []string{"srv-4", "srv-3", "srv-2", "srv-1", "srv-0"}, ids(w.admin, url.Values{"order_by": {"type desc"}})[:5], "servers sort after standalone devices")
	require.Equal(t, "edge-07", ids(w.admin, url.Values{"order_by": {"status desc"}})[0], "obsolete after active")

	// CSV export of the same query, columns named.
	rows := readCSV(t, w.admin.do("GET", "/v1/devices:export?filter="+url.QueryEscape(`type = SERVER`), nil))
	require.Equal(t, []string{
		"name", "device_id", "display_name", "id_type", "host_id", "type", "status", "deployment", "account", "owner_display_name",
		"model", "series", "site_name", "device_user", "backup_server", "server", "publisher_identity", "create_time", "update_time",
	}, rows[0])
	require.Len(t, rows, 6)
	require.Len(t, readCSV(t, w.cleo.do("GET", "/v1/devices:export", nil)), 36, "an export holds what the caller sees")

	// An account search also finds devices holding the account's seats.
	li := w.admin.ok("POST", "/v1/orders", map[string]any{"order_id": "SO-L", "sold_to": "accounts/ACME", "lines": []any{line("1", "cad", 5)}})["line_items"].([]any)[0].(map[string]any)["activation_id"].(string)
	w.admin.ok("PATCH", "/v1/deviceSettings", map[string]any{"skip_account_check": true})
	w.cleo.ok("POST", "/v1/devices/other-1:mapLineItem", map[string]any{"line_item": "lineItems/" + li, "quantity": 1})
	acme := ids(w.admin, url.Values{"filter": {`account = "accounts/ACME"`}})
	require.Len(t, acme, 36)
	require.Contains(t, acme, "other-1")
	others := ids(w.admin, url.Values{"filter": {`account != "accounts/ACME"`}})
	require.NotContains(t, others, "other-1")
	require.Contains(t, others, "loose", "unowned devices are not ACME's")
}

// TestImportDevices_DEV4: thousands of devices arrive in one import, owned or not;
// bad rows are reported with their row and field; importing the same file again
// creates nothing; each created device has its event.
func TestImportDevices_DEV4(t *testing.T) {
	w := newModelWorld(t)
	var b strings.Builder
	b.WriteString("id_type,host_id,display_name,type,account,model,site_name\n")
	for i := range 2000 {
		account := ""
		if i%2 == 0 {
			account = "accounts/ACME"
		}
		kind := "STANDALONE"
		if i%10 == 0 {
			kind = "SERVER"
		}
		fmt.Fprintf(&b, "ETHER,%012x,Unit %d,%s,%s,M%d,\"Site, %d\"\n", i, i, kind, account, i%7, i%3)
	}
	b.WriteString("ETHER,zz,Bad ether,STANDALONE,,,\n")
	b.WriteString("STRING,no-name,,STANDALONE,,,\n")
	b.WriteString("STRING,served,Served,SERVED_CLIENT,,,\n")
	b.WriteString("STRING,acct,Unknown account,STANDALONE,accounts/NOPE,,\n")
	b.WriteString("ETHER,000000000001,Twice,STANDALONE,,,\n")
	b.WriteString("STRING,tab,\"Tab\there\",STANDALONE,,,\n")
	b.WriteString("STRING,long,Long,STANDALONE,," + strings.Repeat("m", 300) + ",\n")
	csvText := b.String()

	start := time.Now()
	res := w.admin.ok("POST", "/v1/devices:import", map[string]any{"csv": csvText})
	elapsed := time.Since(start)
	require.EqualValues(t, 2000, num(res["created"]))
	require.EqualValues(t, 0, num(res["unchanged"]))
	require.Len(t, res["devices"], 2000)
	errors := map[int64]string{}
	for _, e := range res["errors"].([]any) {
		e := e.(map[string]any)
		errors[num(e["row"])] = e["field"].(string)
	}
	require.Equal(t, map[int64]string{2001: "device.host_id", 2002: "device.display_name", 2003: "device.type", 2004: "device.account", 2005: "device.host_id", 2006: "device.display_name", 2007: "device.model"}, errors)
	require.Equal(t, 2000, w.storedDevices(t))
	require.Equal(t, 2000, w.events(t, "device.created", `"imported": true`))
	t.Logf("imported 2,000 devices in %v", elapsed)

	again := w.admin.ok("POST", "/v1/devices:import", map[string]any{"csv": csvText})
	require.EqualValues(t, 0, num(again["created"]), "the same file again creates nothing")
	require.EqualValues(t, 2000, num(again["unchanged"]))
	require.Equal(t, res["devices"], again["devices"], "and names the same devices")
	require.Len(t, again["errors"], 7)
	require.Equal(t, 2000, w.storedDevices(t))
	require.Equal(t, 2000, w.events(t, "device.created", `"imported": true`))

	d := w.admin.ok("GET", "/v1/"+res["devices"].([]any)[10].(string), nil)
	require.Equal(t, []any{"ETHER", "00000000000a", "Unit 10", "DEVICE_TYPE_SERVER", "accounts/ACME", "M3", "Site, 1"},
		[]any{d["id_type"], d["host_id"], d["display_name"], d["type"], d["account"], d["model"], d["site_name"]})
	require.Empty(t, w.admin.ok("GET", "/v1/"+res["devices"].([]any)[1].(string), nil)["account"], "rows may be unowned")

	// As a list: a row equal to a stored device is unchanged; one that differs is refused.
	list := w.admin.ok("POST", "/v1/devices:import", map[string]any{"devices": []any{
		map[string]any{"id_type": "ETHER", "host_id": "00:00:00:00:00:0a", "display_name": "Unit 10", "type": "DEVICE_TYPE_SERVER", "account": "accounts/ACME", "model": "M3", "site_name": "Site, 1"},
		map[string]any{"id_type": "ETHER", "host_id": "00000000000b", "display_name": "Renamed", "type": "DEVICE_TYPE_STANDALONE"},
		map[string]any{"id_type": "ETHER", "host_id": "0000000fffff", "display_name": "New one", "type": "DEVICE_TYPE_STANDALONE", "account": "bad/name"},
		map[string]any{"device_id": "fresh", "id_type": "USER", "host_id": "kim", "display_name": "Kim's", "type": "DEVICE_TYPE_STANDALONE"},
	}})
	require.Equal(t, []int64{1, 1}, []int64{num(list["created"]), num(list["unchanged"])})
	require.Equal(t, []any{res["devices"].([]any)[10], "devices/fresh"}, list["devices"])
	rowsAt := []int64{}
	for _, e := range list["errors"].([]any) {
		rowsAt = append(rowsAt, num(e.(map[string]any)["row"]))
	}
	require.Equal(t, []int64{2, 3}, rowsAt)

	w.cleo.refused(http.StatusForbidden, "POST", "/v1/devices:import", map[string]any{"csv": csvText})
	require.Equal(t, []string{"csv"}, fieldViolations(w.admin.refused(http.StatusBadRequest, "POST", "/v1/devices:import", map[string]any{"csv": "color,host_id\nred,x\n"})))
	require.Equal(t, []string{"csv"}, fieldViolations(w.admin.refused(http.StatusBadRequest, "POST", "/v1/devices:import", map[string]any{"csv": "host_id\n" + strings.Repeat("x\n", 5001)})))
	require.Equal(t, []string{"csv"}, fieldViolations(w.admin.refused(http.StatusBadRequest, "POST", "/v1/devices:import", map[string]any{"csv": "host_id\nx\n", "devices": []any{map[string]any{"host_id": "y"}}})))
	require.Equal(t, 2001, w.storedDevices(t))
}

// TestDeviceDetails_DEV12: the tenant's device user association (off, free text, an
// existing user's email), a server's served devices, and the license preview with
// the link to the rest of the features.
func TestDeviceDetails_DEV12(t *testing.T) {
	w := newModelWorld(t)
	settings := w.cleo.ok("GET", "/v1/deviceSettings", nil)
	require.Equal(t, []any{false, "DEVICE_USER_MODE_FREE_TEXT"}, []any{settings["skip_account_check"] == true, settings["device_user_mode"]})
	w.cleo.refused(http.StatusForbidden, "PATCH", "/v1/deviceSettings", map[string]any{"device_user_mode": "DEVICE_USER_MODE_OFF"})
	w.admin.ok("POST", "/v1/devices", newDevice("box", map[string]any{"account": "accounts/ACME", "host_id": "HOSTNAME=box"}))
	setUser := func(as rest, user string) reply {
		return as.do("PATCH", "/v1/devices/box?update_mask=device_user", map[string]any{"device_user": user})
	}
	require.Equal(t, http.StatusOK, setUser(w.cleo, "Lab 3, anyone").Status, "free text")

	require.Equal(t, "DEVICE_USER_MODE_OFF", w.admin.ok("PATCH", "/v1/deviceSettings", map[string]any{"device_user_mode": "DEVICE_USER_MODE_OFF"})["device_user_mode"])
	require.Equal(t, http.StatusBadRequest, setUser(w.cleo, "someone").Status, "off: no device users")
	require.Equal(t, http.StatusOK, setUser(w.cleo, "").Status, "clearing is always allowed")

	w.admin.ok("PATCH", "/v1/deviceSettings", map[string]any{"device_user_mode": "DEVICE_USER_MODE_EXISTING_USER"})
	for _, bad := range []string{"nobody@acme.example", "not an email", "c*@acme.example"} {
		r := setUser(w.cleo, bad)
		require.Equal(t, http.StatusBadRequest, r.Status, "%s: %s", bad, r.Raw)
		require.Equal(t, []string{"device.device_user"}, fieldViolations(r.Body["error"].(map[string]any)))
	}
	require.Equal(t, http.StatusOK, setUser(w.cleo, "CARL@acme.example").Status, "an existing user's email, any case")
	require.Equal(t, "anyone at all", w.rival.ok("POST", "/v1/devices", newDevice("", map[string]any{"host_id": "HOSTNAME=r", "device_user": "anyone at all"}))["device_user"],
		"the rival tenant keeps free text: settings are per tenant")
	require.Equal(t, "DEVICE_USER_MODE_FREE_TEXT", w.rival.ok("GET", "/v1/deviceSettings", nil)["device_user_mode"])
	require.Equal(t, 2, w.events(t, "settings.updated", ""))
	require.Equal(t, []string{"settings.device_user_mode"}, fieldViolations(w.admin.refused(http.StatusBadRequest, "PATCH", "/v1/deviceSettings", map[string]any{"device_user_mode": 42})))
	// A PATCH changes the settings its body names and keeps the others.
	require.Equal(t, true, w.admin.ok("PATCH", "/v1/deviceSettings", map[string]any{"skip_account_check": true})["skip_account_check"])
	kept := w.admin.ok("PATCH", "/v1/deviceSettings", map[string]any{"device_user_mode": "DEVICE_USER_MODE_EXISTING_USER"})
	require.Equal(t, []any{true, "DEVICE_USER_MODE_EXISTING_USER"}, []any{kept["skip_account_check"], kept["device_user_mode"]})
	kept = w.admin.ok("PATCH", "/v1/deviceSettings?update_mask=skip_account_check", map[string]any{"skip_account_check": false, "device_user_mode": "DEVICE_USER_MODE_OFF"})
	require.Equal(t, []any{false, "DEVICE_USER_MODE_EXISTING_USER"}, []any{kept["skip_account_check"], kept["device_user_mode"]}, "only the masked field")
	require.Equal(t, []string{"update_mask"}, fieldViolations(w.admin.refused(http.StatusBadRequest, "PATCH", "/v1/deviceSettings?update_mask=name", map[string]any{})))
	require.Equal(t, []string{"update_mask"}, fieldViolations(w.admin.refused(http.StatusBadRequest, "PATCH", "/v1/deviceSettings", map[string]any{})),
		"an empty body names no setting")
	require.Equal(t, 5, w.events(t, "settings.updated", ""))

	// A server's served devices (recorded by synchronisation, next issue: written here
	// as the sync will write them).
	w.admin.ok("POST", "/v1/devices", newDevice("lic-srv", map[string]any{"account": "accounts/ACME", "type": "DEVICE_TYPE_SERVER", "host_id": "HOSTNAME=lic-srv"}))
	_, err := w.db.Exec(t.Context(), `INSERT INTO device.devices (tenant_id, id, account_id, display_name, host_id, device_type, status, server_id)
		VALUES ('order-co', 'sc-1', 'ACME', 'Served 1', 'h1', 'served_client', 'normal', 'lic-srv'),
		       ('order-co', 'sc-2', 'ACME', 'Served 2', 'h2', 'served_client', 'dropped', 'lic-srv')`)
	require.NoError(t, err)
	served := deviceIDs(w.cleo, url.Values{"filter": {`server = "devices/lic-srv"`}}, 10)
	require.Equal(t, []string{"sc-1", "sc-2"}, served)
	sc := w.cleo.ok("GET", "/v1/devices/sc-2", nil)
	require.Equal(t, []any{"DEVICE_TYPE_SERVED_CLIENT", "DEVICE_STATUS_DROPPED", "devices/lic-srv"}, []any{sc["type"], sc["status"], sc["server"]})
	require.Equal(t, "SERVED_CLIENT_READ_ONLY", w.admin.refused(http.StatusConflict, "PATCH", "/v1/devices/sc-1?update_mask=notes", map[string]any{"notes": "x"})["reason"])
	require.Empty(t, deviceIDs(w.olga, url.Values{"filter": {`server = "devices/lic-srv"`}}, 10))

	// License preview: twelve features of a product with two seats on the device.
	var features []any
	for i := range 12 {
		features = append(features, map[string]any{"name": fmt.Sprintf("feat_%02d", 12-i), "version": "2.0"})
	}
	w.admin.ok("POST", "/v1/products", map[string]any{"product_id": "suite", "product": map[string]any{
		"display_name": "Suite", "version": "2.0", "license_technology": "LICENSE_TECHNOLOGY_CERTIFICATE", "features": features, "license_models": []string{"licenseModels/node"},
	}})
	li := w.admin.ok("POST", "/v1/orders", map[string]any{"order_id": "SO-F", "sold_to": "accounts/ACME", "lines": []any{line("1", "suite", 5), line("2", "cad", 3)}})
	acts := lineItems(li)
	empty := w.cleo.ok("GET", "/v1/devices/box/licensePreview", nil)
	require.EqualValues(t, 0, num(empty["total_features"]))
	require.Empty(t, empty["more"])
	w.cleo.ok("POST", "/v1/devices/box:mapLineItem", map[string]any{"line_item": "lineItems/" + acts["1"]["activation_id"].(string), "quantity": 2})
	w.cleo.ok("POST", "/v1/devices/box:mapLineItem", map[string]any{"line_item": "lineItems/" + acts["2"]["activation_id"].(string), "quantity": 1})
	preview := w.cleo.ok("GET", "/v1/devices/box/licensePreview", nil)
	require.EqualValues(t, 13, num(preview["total_features"]))
	require.Equal(t, "/v1/devices/box/features", preview["more"])
	shown := preview["features"].([]any)
	require.Len(t, shown, 10)
	first := shown[0].(map[string]any)
	require.Equal(t, []any{"cad", int64(1), []any{"lineItems/" + acts["2"]["activation_id"].(string)}}, []any{first["name"], num(first["count"]), first["line_items"]})
	second := shown[1].(map[string]any)
	require.Equal(t, []any{"feat_01", "2.0", int64(2)}, []any{second["name"], second["version"], num(second["count"])})
	all := pageThroughBy(w.cleo, "/v1/devices/box/features", nil, "features", func(f map[string]any) string { return f["name"].(string) }, 4)
	require.Len(t, all, 13)
	require.True(t, slices.IsSorted(all), "by name")
	w.olga.refused(http.StatusNotFound, "GET", "/v1/devices/box/licensePreview", nil)
	w.rival.refused(http.StatusNotFound, "GET", "/v1/devices/box/features", nil)
}

// TestServerAdminPassword_DEV13: a cloud license server's admin password follows the
// rule, is given twice, is refused naming every broken rule, and is stored hashed;
// other devices have none.
func TestServerAdminPassword_DEV13(t *testing.T) {
	w := newModelWorld(t)
	cloud := w.admin.ok("POST", "/v1/devices", map[string]any{"device_id": "cls", "device": map[string]any{
		"account": "accounts/ACME", "display_name": "Cloud", "type": "DEVICE_TYPE_SERVER", "deployment": "DEPLOYMENT_CLOUD", "site_name": "eu-1",
	}})
	require.NotEqual(t, true, cloud["admin_password_set"])
	w.admin.ok("POST", "/v1/devices", newDevice("local", map[string]any{"account": "accounts/ACME", "type": "DEVICE_TYPE_SERVER", "host_id": "HOSTNAME=local"}))
	set := func(as rest, id, pw, confirm string) reply {
		return as.do("POST", "/v1/devices/"+id+":setAdminPassword", map[string]any{"password": pw, "confirm_password": confirm})
	}
	r := set(w.cleo, "cls", "a b", "a b")
	require.Equal(t, http.StatusBadRequest, r.Status)
	violations := r.Body["error"].(map[string]any)["field_violations"].([]any)
	require.Len(t, violations, 5, "length, upper case, digit, special character and spaces: %s", r.Raw)
	for _, v := range violations {
		require.Equal(t, "password", v.(map[string]any)["field"])
	}
	require.Equal(t, []string{"confirm_password"}, fieldViolations(set(w.cleo, "cls", "Secret-42", "Secret-43").Body["error"].(map[string]any)))
	require.Equal(t, []string{"password"}, fieldViolations(set(w.cleo, "cls", "Secret-42é", "Secret-42é").Body["error"].(map[string]any)))
	require.Equal(t, 0, w.events(t, "device.admin_password_set", ""), "refusals change nothing")

	ok := set(w.cleo, "cls", "Secret-42", "Secret-42")
	require.Equal(t, http.StatusOK, ok.Status, "%s", ok.Raw)
	require.Equal(t, true, ok.Body["admin_password_set"])
	require.Equal(t, true, w.admin.ok("GET", "/v1/devices/cls", nil)["admin_password_set"])
	var hash string
	require.NoError(t, w.db.QueryRow(t.Context(), `SELECT admin_password_hash FROM device.devices WHERE id = 'cls'`).Scan(&hash))
	require.True(t, strings.HasPrefix(hash, "$argon2id$"))
	require.NotContains(t, hash, "Secret")
	require.Equal(t, 1, w.events(t, "device.admin_password_set", "cls"))
	require.Equal(t, 0, w.events(t, "device.admin_password_set", "Secret"), "the event never carries the password")
	var leaked int
	require.NoError(t, w.db.QueryRow(t.Context(), `SELECT count(*) FROM device.audit_log WHERE payload::text LIKE '%Secret-42%'`).Scan(&leaked))
	require.Zero(t, leaked)

	require.Equal(t, "NOT_CLOUD_SERVER", set(w.admin, "local", "Secret-42", "Secret-42").Body["error"].(map[string]any)["reason"])
	require.Equal(t, http.StatusForbidden, set(w.carl, "cls", "Secret-42", "Secret-42").Status)
	require.Equal(t, http.StatusNotFound, set(w.olga, "cls", "Secret-42", "Secret-42").Status)
	require.Equal(t, http.StatusNotFound, set(w.rival, "cls", "Secret-42", "Secret-42").Status)
}

// TestDeviceCreateRaces_DEV1: concurrent creates of one identity store one device;
// concurrent retries of one request return the same device; two imports of one file
// at once create each device once.
func TestDeviceCreateRaces_DEV1(t *testing.T) {
	w := newModelWorld(t)
	const n = 10
	statuses := make([]int, n)
	names := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r := w.admin.do("POST", "/v1/devices", newDevice(fmt.Sprint("racer-", i), map[string]any{"id_type": "ETHER", "host_id": "0a0b0c0d0e0f"}))
			statuses[i] = r.Status
		})
	}
	wg.Wait()
	slices.Sort(statuses)
	require.Equal(t, append([]int{http.StatusOK}, slices.Repeat([]int{http.StatusConflict}, n-1)...), statuses)

	for i := range n {
		wg.Go(func() {
			r := w.admin.do("POST", "/v1/devices", map[string]any{"request_id": "same-request", "device": map[string]any{
				"display_name": "Retried", "type": "DEVICE_TYPE_SERVER", "deployment": "DEPLOYMENT_CLOUD", "site_name": "eu",
			}})
			statuses[i] = r.Status
			names[i], _ = r.Body["name"].(string)
		})
	}
	wg.Wait()
	require.Equal(t, slices.Repeat([]int{http.StatusOK}, n), statuses)
	require.Len(t, slices.Compact(slices.Clone(names)), 1, "every retry answers the first device: %v", names)

	var b strings.Builder
	b.WriteString("id_type,host_id,display_name\n")
	for i := range 500 {
		fmt.Fprintf(&b, "STRING,unit-%d,Unit %d\n", i, i)
	}
	results := make([]map[string]any, 2)
	for i := range 2 {
		wg.Go(func() { results[i] = w.admin.ok("POST", "/v1/devices:import", map[string]any{"csv": b.String()}) })
	}
	wg.Wait()
	require.Equal(t, int64(500), num(results[0]["created"])+num(results[1]["created"]), "each device is created once")
	require.Equal(t, int64(500), num(results[0]["unchanged"])+num(results[1]["unchanged"]))
	require.Equal(t, 502, w.storedDevices(t))
	require.Equal(t, 500, w.events(t, "device.created", `"imported": true`))
}

// A request ID answers its first device only to a caller who owns it and asks for
// the same device: request IDs are unique in the tenant, so another account's
// caller replaying (or squatting) one must neither get that device nor stand in for
// a new one, and the same caller changing the request is told (SPEC DEV-2, PLT-6).
func TestCreateDeviceReplaysAreTheCallersOwn_DEV2(t *testing.T) {
	w := newModelWorld(t)
	mine := newDevice("", map[string]any{"account": "accounts/ACME", "id_type": "ETHER", "host_id": "aa11223344ab"})
	mine["request_id"] = "r1"
	first := w.cleo.ok("POST", "/v1/devices", mine)
	require.Equal(t, first, w.cleo.ok("POST", "/v1/devices", mine), "a replay answers the first device")

	// Another account replays the request ID with its own body, or with the same one.
	theirs := newDevice("", map[string]any{"account": "accounts/OTHER", "id_type": "ETHER", "host_id": "cc11223344ab"})
	theirs["request_id"] = "r1"
	e := w.olga.refused(http.StatusBadRequest, "POST", "/v1/devices", theirs)
	require.Equal(t, []string{"request_id"}, fieldViolations(e))
	require.NotContains(t, fmt.Sprint(e), "aa11223344ab", "nothing of the first device leaks")
	require.Equal(t, []string{"device.account"}, fieldViolations(w.olga.refused(http.StatusBadRequest, "POST", "/v1/devices", mine)))
	// The same caller with another request under the same ID.
	changed := newDevice("", map[string]any{"account": "accounts/ACME", "id_type": "ETHER", "host_id": "bb11223344ab"})
	changed["request_id"] = "r1"
	require.Equal(t, []string{"request_id"}, fieldViolations(w.cleo.refused(http.StatusBadRequest, "POST", "/v1/devices", changed)))
	require.Equal(t, 1, w.events(t, "device.created", "aa11223344ab"))
	require.Zero(t, w.events(t, "device.created", "cc11223344ab"))

	// A taken identity is refused without naming the device that holds it.
	other := newDevice("", map[string]any{"account": "accounts/OTHER", "id_type": "ETHER", "host_id": "aa11223344ab"})
	e = w.olga.refused(http.StatusConflict, "POST", "/v1/devices", other)
	require.NotContains(t, fmt.Sprint(e), first["device_id"])
}
