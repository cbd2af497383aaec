package suite_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDevicesOfHiddenAccounts_ACC3: a device owned by an account hidden from
// partners shows "Name Withheld" as its owner to a partner admin above the account
// (reads, lists and the CSV export), with the account's line items masked and its
// device user left out; the partner can neither create devices for the account nor
// change its devices, as the account service refuses changes to the account
// itself. Producers see and change everything.
func TestDevicesOfHiddenAccounts_ACC3(t *testing.T) {
	w := newDeviceWorld(t)
	w.admin.ok("PATCH", "/v1/devices/dev-tier?update_mask=device_user", map[string]any{"device_user": "Tina at the desk"})
	w.admin.ok("PATCH", "/v1/accounts/TIER", map[string]any{"account": map[string]any{"visible_to_partners": false}, "update_mask": "visibleToPartners"})
	pam := w.user(t, "pam", "DIST", "partner_admin")
	pam.refused(http.StatusNotFound, "PATCH", "/v1/accounts/TIER", map[string]any{"account": map[string]any{"display_name": "x"}, "update_mask": "displayName"})

	hidden := seenDevice{owner: "Name Withheld", lineItems: map[string]bool{w.lineItems["TIER"]: false, w.lineItems["TIER-sim"]: false}}
	dev := pam.ok("GET", "/v1/devices/dev-tier", nil)
	w.requireSeen(t, "partner admin", dev, hidden)
	require.Empty(t, dev["device_user"], "the device user is the owner's")
	listed := list(pam, "/v1/devices", nil, "devices")
	require.Len(t, listed, 1)
	w.requireSeen(t, "partner admin (list)", listed[0], hidden)
	rows := readCSV(t, pam.do("GET", "/v1/devices:export", nil))
	require.Len(t, rows, 2)
	col := slices.Index(rows[0], "owner_display_name")
	require.Equal(t, "Name Withheld", rows[1][col], "the export withholds the name too")
	require.NotContains(t, rows[1], w.accountNames["TIER"])

	e := pam.refused(http.StatusBadRequest, "POST", "/v1/devices", newDevice("pam-new", map[string]any{"account": "accounts/TIER", "host_id": "HOSTNAME=pam"}))
	require.Equal(t, []string{"device.account"}, fieldViolations(e))
	pam.refused(http.StatusNotFound, "PATCH", "/v1/devices/dev-tier?update_mask=display_name", map[string]any{"display_name": "renamed"})
	pam.refused(http.StatusNotFound, "GET", "/v1/devices/pam-new", nil)
	// Mapping: with the account check off partners map by activation ID, but not
	// the hidden account's line items.
	w.admin.ok("PATCH", "/v1/deviceSettings", map[string]any{"skip_account_check": true})
	e = pam.refused(http.StatusBadRequest, "POST", "/v1/devices/dev-tier:mapLineItems", map[string]any{"items": []any{
		map[string]any{"activation_id": w.lineItems["TIER"], "quantity": 1},
	}})
	require.Equal(t, []string{"items[0].activation_id"}, fieldViolations(e))

	got := w.admin.ok("GET", "/v1/devices/dev-tier", nil)
	require.Equal(t, []any{"TIER box", w.accountNames["TIER"], "Tina at the desk"}, []any{got["display_name"], got["owner_display_name"], got["device_user"]}, "nothing changed; the producer sees all")

	// A member of the hidden account is not kept from it.
	tina := w.user(t, "tina", "TIER", "customer_admin")
	require.Equal(t, w.accountNames["TIER"], tina.ok("GET", "/v1/devices/dev-tier", nil)["owner_display_name"])
}

// TestDeviceUserOfOwnAccounts_DEV12: with existing users as device users, a customer
// admin may name only users of its own accounts: a user of another account is
// refused exactly as an unknown email, so nothing is learnt about other accounts'
// users; producers may name any user of the tenant. Only owners read the device
// user, and setting it without devices.edit_user is a permission error.
func TestDeviceUserOfOwnAccounts_DEV12(t *testing.T) {
	w := newDeviceWorld(t)
	w.admin.ok("PATCH", "/v1/deviceSettings", map[string]any{"device_user_mode": "DEVICE_USER_MODE_EXISTING_USER"})
	oscar := w.user(t, "oscar", "PARENT", "customer_admin")
	w.user(t, "olga", "OTHER", "customer_admin")
	setUser := func(as rest, user string) reply {
		return as.do("PATCH", "/v1/devices/dev-parent?update_mask=device_user", map[string]any{"device_user": user})
	}
	foreign, unknown := setUser(oscar, "olga@vis.example"), setUser(oscar, "nobody@vis.example")
	require.Equal(t, []int{http.StatusBadRequest, http.StatusBadRequest}, []int{foreign.Status, unknown.Status}, "%s", foreign.Raw)
	require.Equal(t, []string{"device.device_user"}, fieldViolations(foreign.Body["error"].(map[string]any)))
	require.Equal(t, fieldViolations(unknown.Body["error"].(map[string]any)), fieldViolations(foreign.Body["error"].(map[string]any)))
	created := oscar.do("POST", "/v1/devices", newDevice("o-new", map[string]any{"account": "accounts/PARENT", "host_id": "HOSTNAME=o", "device_user": "OLGA@vis.example"}))
	require.Equal(t, http.StatusBadRequest, created.Status, "%s", created.Raw)
	oscar.refused(http.StatusNotFound, "GET", "/v1/devices/o-new", nil)
	require.Empty(t, w.admin.ok("GET", "/v1/devices/dev-parent", nil)["device_user"], "nothing stored")

	require.Equal(t, http.StatusOK, setUser(oscar, "oscar@vis.example").Status, "a user of the owner's account")
	require.Equal(t, "olga@vis.example", w.admin.ok("PATCH", "/v1/devices/dev-parent?update_mask=device_user", map[string]any{"device_user": "olga@vis.example"})["device_user"],
		"producers name any user of the tenant")
	require.Equal(t, "olga@vis.example", oscar.ok("GET", "/v1/devices/dev-parent", nil)["device_user"], "the owner reads it")

	// An activation ID session sees the device holding its line item, not its user.
	viaKey := w.key(w.lineItems["PARENT"]).ok("GET", "/v1/devices/dev-parent", nil)
	require.Equal(t, "dev-parent", viaKey["device_id"])
	require.Empty(t, viaKey["device_user"])

	w.admin.ok("POST", "/v1/roles", map[string]any{"role_id": "device_keeper", "role": map[string]any{"display_name": "Device keeper", "permissions": []string{"accounts.view", "devices.view", "devices.manage"}}})
	keeper := w.user(t, "kim", "PARENT", "device_keeper")
	keeper.refused(http.StatusForbidden, "POST", "/v1/devices", newDevice("k-new", map[string]any{"account": "accounts/PARENT", "host_id": "HOSTNAME=k", "device_user": "oscar@vis.example"}))
	keeper.refused(http.StatusForbidden, "PATCH", "/v1/devices/dev-parent?update_mask=device_user", map[string]any{"device_user": "oscar@vis.example"})
	require.Equal(t, http.StatusOK, keeper.do("POST", "/v1/devices", newDevice("k-new", map[string]any{"account": "accounts/PARENT", "host_id": "HOSTNAME=k"})).Status)
}
