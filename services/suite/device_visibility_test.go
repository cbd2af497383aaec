package suite_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tessera-dev/tessera/services/suite/suitetest"
)

// deviceWorld is a tenant "vis-co" with the account tree
//
//	PARENT → CHILD → GRAND    OTHER    DIST (partner) → TIER
//
// each account holding a line item of cad mapped to a device of its own (dev-parent,
// dev-child, dev-grand, dev-other, dev-tier); dev-tier also holds a line item of sim.
// cad is in product line "design", sim in "simulation". A second tenant "vis-rival"
// has a device of the same ID.
type deviceWorld struct {
	env          *suitetest.Env
	api, admin   rest
	rival        rest
	lineItems    map[string]string // account (or "TIER-sim") → activation ID
	tierEntID    string
	devices      []string
	accountNames map[string]string
}

func newDeviceWorld(t *testing.T) deviceWorld {
	env := suitetest.Start(t)
	api := rest{t: t, base: env.Suite.GatewayURL}
	op := api.as(env.OperatorToken)
	createTenant(op, "vis-co", "Admin-Password-1")
	createTenant(op, "vis-rival", "Admin-Password-2")
	admin := api.as(login(api, "vis-co", "admin", "Admin-Password-1"))
	w := deviceWorld{env: env, api: api, admin: admin, lineItems: map[string]string{}, accountNames: map[string]string{}}
	accounts := []struct{ id, parent, typ string }{
		{"PARENT", "", "ACCOUNT_TYPE_CUSTOMER"},
		{"CHILD", "PARENT", "ACCOUNT_TYPE_CUSTOMER"},
		{"GRAND", "CHILD", "ACCOUNT_TYPE_CUSTOMER"},
		{"OTHER", "", "ACCOUNT_TYPE_CUSTOMER"},
		{"DIST", "", "ACCOUNT_TYPE_PARTNER"},
		{"TIER", "DIST", "ACCOUNT_TYPE_CUSTOMER"},
	}
	for _, a := range accounts {
		name := strings.ToLower(a.id) + " Inc"
		body := map[string]any{"account_id": a.id, "account": map[string]any{"display_name": name, "type": a.typ}}
		if a.parent != "" {
			body["parent"] = "accounts/" + a.parent
		}
		admin.ok("POST", "/v1/accounts", body)
		w.accountNames[a.id] = name
	}
	for _, pl := range []string{"design", "simulation"} {
		admin.ok("POST", "/v1/productLines", map[string]any{"product_line_id": pl, "product_line": map[string]any{"display_name": pl}})
	}
	admin.ok("POST", "/v1/licenseModels", map[string]any{"license_model_id": "seat", "license_model": map[string]any{"display_name": "Seat", "type": "LICENSE_MODEL_TYPE_FLOATING_COUNTED", "allowed_host_id_types": []string{"HOSTNAME"}}})
	for p, pl := range map[string]string{"cad": "design", "sim": "simulation"} {
		admin.ok("POST", "/v1/products", map[string]any{"product_id": p, "product": map[string]any{
			"display_name": p, "version": "1.0", "license_technology": "LICENSE_TECHNOLOGY_CERTIFICATE", "product_line": "productLines/" + pl,
			"features": []any{map[string]any{"name": p, "version": "1.0"}}, "license_models": []string{"licenseModels/seat"},
		}})
	}
	seatLine := func(n, product string) map[string]any {
		return map[string]any{"line_number": n, "product": "products/" + product, "license_model": "licenseModels/seat", "quantity": 10}
	}
	for _, a := range []string{"PARENT", "CHILD", "GRAND", "OTHER", "TIER"} {
		lines := []any{seatLine("1", "cad")}
		if a == "TIER" {
			lines = append(lines, seatLine("2", "sim"))
		}
		ent := admin.ok("POST", "/v1/orders", map[string]any{"order_id": "SO-" + a, "sold_to": "accounts/" + a, "lines": lines})
		items := lineItems(ent)
		w.lineItems[a] = items["1"]["activation_id"].(string)
		if a == "TIER" {
			w.lineItems["TIER-sim"] = items["2"]["activation_id"].(string)
			w.tierEntID = ent["entitlement_id"].(string)
		}
		dev := "dev-" + strings.ToLower(a)
		admin.ok("POST", "/v1/devices", map[string]any{"device_id": dev, "device": map[string]any{"account": "accounts/" + a, "display_name": a + " box", "type": "DEVICE_TYPE_STANDALONE"}})
		admin.ok("POST", "/v1/devices/"+dev+":mapLineItem", map[string]any{"line_item": "lineItems/" + w.lineItems[a], "quantity": 2})
		if a == "TIER" {
			admin.ok("POST", "/v1/devices/"+dev+":mapLineItem", map[string]any{"line_item": "lineItems/" + w.lineItems["TIER-sim"], "quantity": 1})
		}
		w.devices = append(w.devices, dev)
	}
	// A partner role without devices.view_child: its holder sees the tier's devices
	// only as holder of their line items, not as owner.
	admin.ok("POST", "/v1/roles", map[string]any{"role_id": "partner_viewer", "role": map[string]any{"display_name": "Partner viewer", "permissions": []string{"accounts.view", "devices.view"}}})
	admin.ok("POST", "/v1/roles", map[string]any{"role_id": "account_viewer", "role": map[string]any{"display_name": "Account viewer", "permissions": []string{"accounts.view"}}})
	rival := api.as(login(api, "vis-rival", "admin", "Admin-Password-2"))
	rival.ok("POST", "/v1/accounts", map[string]any{"account_id": "PARENT", "account": map[string]any{"display_name": "Rival", "type": "ACCOUNT_TYPE_CUSTOMER"}})
	rival.ok("POST", "/v1/devices", map[string]any{"device_id": "dev-rival", "device": map[string]any{"account": "accounts/PARENT", "display_name": "Rival box", "type": "DEVICE_TYPE_STANDALONE"}})
	w.rival = rival
	return w
}

// user makes a user of vis-co with one membership and signs them in.
func (w deviceWorld) user(t *testing.T, name, account, role string, extra ...any) rest {
	t.Helper()
	u := map[string]any{
		"username": name, "first_name": name, "last_name": "V", "email": name + "@vis.example",
		"memberships": []any{map[string]any{"account": "accounts/" + account, "roles": []string{role}}},
	}
	for i := 0; i+1 < len(extra); i += 2 {
		u[extra[i].(string)] = extra[i+1]
	}
	w.admin.ok("POST", "/v1/users", map[string]any{"password": "Visible-Password-1", "user": u})
	return w.api.as(login(w.api, "vis-co", name, "Visible-Password-1"))
}

// key signs in with an entitlement or activation ID.
func (w deviceWorld) key(key string) rest {
	return w.api.as(w.api.ok("POST", "/v1/auth:signInWithKey", map[string]any{"tenant_id": "vis-co", "key": key})["access_token"].(string))
}

// seenDevice is what a viewer should read of a device.
type seenDevice struct {
	owner string // owner_display_name
	// lineItems: activation ID → shown (unmasked) or not; absent: left out.
	lineItems map[string]bool
}

func (w deviceWorld) requireSeen(t *testing.T, viewer string, dev map[string]any, want seenDevice) {
	t.Helper()
	name := dev["device_id"]
	require.Equal(t, want.owner, dev["owner_display_name"], "%s reads the owner of %s", viewer, name)
	got := map[string]bool{}
	for _, li := range dev["line_items"].([]any) {
		li := li.(map[string]any)
		id := li["activation_id"].(string)
		if li["masked"] == true {
			require.Empty(t, li["line_item"], "%s: a masked line item has no name", viewer)
			require.Empty(t, li["account"], "%s: a masked line item has no account", viewer)
			require.Regexp(t, `^\*+.{3}$`, id, "%s: masked to the last three characters", viewer)
			for full := range want.lineItems {
				if strings.HasSuffix(full, id[len(id)-3:]) && len(full) == len(id) {
					got[full] = false
				}
			}
			continue
		}
		require.Equal(t, "lineItems/"+id, li["line_item"])
		require.NotEmpty(t, li["account"])
		got[id] = true
	}
	require.Equal(t, want.lineItems, got, "%s: line items of %s (true: shown, false: masked)", viewer, name)
}

// TestDeviceVisibilityMatrix_DEV5: who sees which device, and how much of it:
// owners (members, and the accounts below with devices.view_child) see all; holders of
// line items (partners for their tier) see the device with the owner's name withheld;
// a key session sees the devices holding its line items with other line items masked;
// product-line limited users never learn line items of other lines; unrelated
// accounts and other tenants get NotFound, as for a device that does not exist.
func TestDeviceVisibilityMatrix_DEV5(t *testing.T) {
	w := newDeviceWorld(t)
	li := w.lineItems
	owned := func(account string, items ...string) seenDevice {
		s := seenDevice{owner: w.accountNames[account], lineItems: map[string]bool{}}
		for _, i := range items {
			s.lineItems[i] = true
		}
		return s
	}
	withheld := func(shown, masked []string) seenDevice {
		s := seenDevice{owner: "Name Withheld", lineItems: map[string]bool{}}
		for _, i := range shown {
			s.lineItems[i] = true
		}
		for _, i := range masked {
			s.lineItems[i] = false
		}
		return s
	}
	all := map[string]seenDevice{
		"dev-parent": owned("PARENT", li["PARENT"]), "dev-child": owned("CHILD", li["CHILD"]), "dev-grand": owned("GRAND", li["GRAND"]),
		"dev-other": owned("OTHER", li["OTHER"]), "dev-tier": owned("TIER", li["TIER"], li["TIER-sim"]),
	}
	pick := func(ids ...string) map[string]seenDevice {
		out := map[string]seenDevice{}
		for _, id := range ids {
			out[id] = all[id]
		}
		return out
	}
	matrix := []struct {
		viewer string
		as     rest
		sees   map[string]seenDevice
	}{
		{"producer", w.admin, all},
		{"parent admin (view_child)", w.user(t, "pat", "PARENT", "customer_admin"), pick("dev-parent", "dev-child", "dev-grand")},
		{"parent user (no view_child)", w.user(t, "pug", "PARENT", "customer_user"), pick("dev-parent")},
		{"sub-account admin (view_child)", w.user(t, "cal", "CHILD", "customer_admin"), pick("dev-child", "dev-grand")},
		{"sub-account user (no view_child)", w.user(t, "cus", "CHILD", "customer_user"), pick("dev-child")},
		{"unrelated account", w.user(t, "oak", "OTHER", "customer_admin"), pick("dev-other")},
		{"partner admin", w.user(t, "pam", "DIST", "partner_admin"), pick("dev-tier")},
		{"partner without view_child", w.user(t, "pete", "DIST", "partner_viewer"), map[string]seenDevice{
			"dev-tier": withheld([]string{li["TIER"], li["TIER-sim"]}, nil),
		}},
		{"activation ID session", w.key(li["TIER"]), map[string]seenDevice{
			"dev-tier": withheld([]string{li["TIER"]}, []string{li["TIER-sim"]}),
		}},
		{"entitlement ID session", w.key(w.tierEntID), map[string]seenDevice{
			"dev-tier": withheld([]string{li["TIER"], li["TIER-sim"]}, nil),
		}},
		{"other tenant", w.rival, nil},
	}
	for _, m := range matrix {
		for _, dev := range w.devices {
			want, seen := m.sees[dev]
			if !seen {
				m.as.refused(http.StatusNotFound, "GET", "/v1/devices/"+dev, nil)
				continue
			}
			w.requireSeen(t, m.viewer, m.as.ok("GET", "/v1/devices/"+dev, nil), want)
		}
	}
	w.admin.refused(http.StatusNotFound, "GET", "/v1/devices/dev-rival", nil)

	// Lists go by the same rules.
	for _, m := range matrix {
		var listed []string
		for _, dev := range list(m.as, "/v1/devices", nil, "devices") {
			id := dev["device_id"].(string)
			if !slices.Contains(w.devices, id) {
				continue // the other tenant's own devices
			}
			listed = append(listed, id)
			if want, ok := m.sees[id]; ok {
				w.requireSeen(t, m.viewer+" (list)", dev, want)
			}
		}
		var want []string
		for id := range m.sees {
			want = append(want, id)
		}
		require.ElementsMatch(t, want, listed, "%s lists the devices it sees", m.viewer)
	}

	// A user held to the design product line owns dev-tier but never learns of the
	// sim line item; cad shows once mappings record their product.
	dina := w.user(t, "dina", "TIER", "customer_admin", "product_lines", []string{"productLines/design"})
	dev := dina.ok("GET", "/v1/devices/dev-tier", nil)
	require.Equal(t, w.accountNames["TIER"], dev["owner_display_name"])
	var ids []string
	for _, l := range dev["line_items"].([]any) {
		ids = append(ids, l.(map[string]any)["activation_id"].(string))
	}
	require.NotContains(t, ids, li["TIER-sim"])
	for _, id := range ids {
		require.False(t, strings.HasSuffix(li["TIER-sim"], id[max(0, len(id)-3):]) && id != li["TIER"], "not even masked")
	}
	producerView := w.admin.ok("GET", "/v1/devices/dev-tier", nil)["line_items"].([]any)
	if producerView[0].(map[string]any)["product"] != "" && producerView[0].(map[string]any)["product"] != nil {
		require.Equal(t, []string{li["TIER"]}, ids, "the design line item is shown")
	} else {
		t.Log("mappings do not record their product yet: product-line user sees no line item")
	}

	// Permission and tenant refusals.
	w.user(t, "nobody", "TIER", "account_viewer").refused(http.StatusForbidden, "GET", "/v1/devices/dev-tier", nil)
	w.rival.refused(http.StatusNotFound, "GET", "/v1/devices/dev-tier", nil)
	require.True(t, slices.Contains(w.devices, "dev-tier"))
}
