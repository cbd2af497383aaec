package suite_test

import (
	"net/http"
	"net/url"
	"regexp"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

var invitationToken = regexp.MustCompile(`/v1/invitations/(inv_[0-9a-f]+):accept`)

// TestOrganizations_ACC14: an organization made from a permission key, invitations
// pending until accepted by the invited user, one organization per user, one
// co-administrator, enable/disable/remove, and seat grants that never exceed what the
// key licenses, even when granted concurrently.
func TestOrganizations_ACC14(t *testing.T) {
	w := newSelfServiceWorld(t)
	api := w.api
	people := map[string]rest{}
	for _, who := range []string{"alice", "bob", "carol", "dave", "eve"} {
		account, role := "ACME", "customer_user"
		if who == "alice" {
			role = "customer_admin"
		}
		if who == "eve" {
			w.admin.ok("POST", "/v1/accounts", map[string]any{"account_id": "EVECO", "account": map[string]any{"display_name": "EveCo", "type": "ACCOUNT_TYPE_CUSTOMER"}})
			account = "EVECO"
		}
		w.admin.ok("POST", "/v1/users", map[string]any{"password": "Org-Password-1", "user": map[string]any{
			"username": who, "first_name": who, "last_name": "X", "email": who + "@acme.example",
			"memberships": []any{map[string]any{"account": "accounts/" + account, "roles": []string{role}}},
		}})
		people[who] = api.as(login(api, "self-co", who, "Org-Password-1"))
	}
	alice, bob, carol, dave, eve := people["alice"], people["bob"], people["carol"], people["dave"], people["eve"]
	userOf := func(who string) string {
		return w.admin.ok("GET", "/v1/users?filter=username%3D"+who, nil)["users"].([]any)[0].(map[string]any)["name"].(string)
	}

	e := alice.refused(http.StatusBadRequest, "POST", "/v1/organizations", map[string]any{"organization": map[string]any{"display_name": "Team", "permission_key": w.openEnt}})
	require.Equal(t, []string{"organization.permission_key"}, fieldViolations(e), "a key nobody at ACME owns")
	e = alice.refused(http.StatusBadRequest, "POST", "/v1/organizations", map[string]any{"organization": map[string]any{"permission_key": w.acmeEnt}})
	require.Equal(t, []string{"organization.display_name"}, fieldViolations(e))
	eve.refused(http.StatusBadRequest, "POST", "/v1/organizations", map[string]any{"organization": map[string]any{"display_name": "Steal", "permission_key": w.acmeEnt}})

	org := alice.ok("POST", "/v1/organizations", map[string]any{"organization": map[string]any{"display_name": "CAD team", "permission_key": w.acmeEnt}})
	path := "/v1/" + org["name"].(string)
	products := org["products"].([]any)
	require.Len(t, products, 1)
	require.EqualValues(t, "7", products[0].(map[string]any)["licensed"], "5 + 2 seats of the key's line items")
	dave.ok("POST", "/v1/organizations", map[string]any{"organization": map[string]any{"display_name": "Dave's", "permission_key": w.acmeAct}})

	// Invitations: bad addresses refuse the whole list; duplicates collapse.
	before := mailCount(t, w.env)
	e = alice.refused(http.StatusBadRequest, "POST", path+":invite", map[string]any{"emails": "bob@acme.example; nope"})
	require.Equal(t, []string{"emails"}, fieldViolations(e))
	require.Equal(t, before, mailCount(t, w.env))
	got := alice.ok("POST", path+":invite", map[string]any{"emails": "bob@acme.example; Carol@acme.example;bob@acme.example ; dave@acme.example"})
	require.Len(t, got["members"], 4, "alice and three pending")
	for _, m := range got["members"].([]any)[1:] {
		require.Equal(t, "MEMBER_STATUS_PENDING", m.(map[string]any)["status"])
	}
	tokens := map[string]string{}
	for _, who := range []string{"bob", "carol", "dave"} {
		tokens[who] = invitationToken.FindStringSubmatch(w.env.WaitForMail(t, "To: <"+who+"@acme.example>", "invitations/"))[1]
	}
	bob.refused(http.StatusNotFound, "POST", "/v1/invitations/"+tokens["carol"]+":accept", map[string]any{})
	bob.ok("POST", "/v1/invitations/"+tokens["bob"]+":accept", map[string]any{})
	bob.refused(http.StatusNotFound, "POST", "/v1/invitations/"+tokens["bob"]+":accept", map[string]any{})
	carol.ok("POST", "/v1/invitations/"+tokens["carol"]+":accept", map[string]any{})
	e = dave.refused(http.StatusConflict, "POST", "/v1/invitations/"+tokens["dave"]+":accept", map[string]any{})
	require.Equal(t, "ALREADY_IN_ORGANIZATION", e["reason"], "dave runs an organization of his own")

	// Administration: one co-administrator; members who are not admins cannot.
	bobID, carolID := userOf("bob"), userOf("carol")
	e = carol.refused(http.StatusConflict, "POST", path+":setCoAdministrator", map[string]any{"user": carolID})
	require.Equal(t, "NOT_ORGANIZATION_ADMIN", e["reason"])
	alice.ok("POST", path+":setCoAdministrator", map[string]any{"user": bobID})
	got = alice.ok("POST", path+":setCoAdministrator", map[string]any{"user": carolID})
	coAdmins := 0
	for _, m := range got["members"].([]any) {
		if m.(map[string]any)["co_administrator"] == true {
			coAdmins++
		}
	}
	require.Equal(t, 1, coAdmins, "at most one co-administrator")
	bob.refused(http.StatusConflict, "POST", path+":grantSeats", map[string]any{"user": bobID, "product": "products/cad", "seats": 1})

	// Seats: never more than the key licenses, even when granted at the same time.
	carol.ok("POST", path+":grantSeats", map[string]any{"user": bobID, "product": "products/cad", "seats": 5})
	e = carol.refused(http.StatusConflict, "POST", path+":grantSeats", map[string]any{"user": carolID, "product": "products/cad", "seats": 3})
	require.Equal(t, "SEATS_EXCEEDED", e["reason"])
	e = carol.refused(http.StatusBadRequest, "POST", path+":grantSeats", map[string]any{"user": carolID, "product": "products/other", "seats": 1})
	require.Equal(t, []string{"product"}, fieldViolations(e))
	alice.refused(http.StatusBadRequest, "POST", path+":grantSeats", map[string]any{"user": userOf("dave"), "product": "products/cad", "seats": 1})
	var wg sync.WaitGroup
	var granted sync.Map
	for _, who := range []string{"alice", "carol"} {
		wg.Go(func() {
			r := alice.do("POST", path+":grantSeats", map[string]any{"user": userOf(who), "product": "products/cad", "seats": 2})
			granted.Store(who, r.Status)
		})
	}
	wg.Wait()
	ok := 0
	granted.Range(func(_, v any) bool {
		if v == http.StatusOK {
			ok++
		}
		return true
	})
	require.Equal(t, 1, ok, "5 + 2 fit, 5 + 2 + 2 do not")
	seats := alice.ok("GET", path, nil)["products"].([]any)[0].(map[string]any)
	require.EqualValues(t, "7", seats["granted"])

	// A disabled member drops off the product's list; the seats come free.
	got = alice.ok("POST", path+":setMemberEnabled", map[string]any{"user": bobID, "enabled": false})
	seats = got["products"].([]any)[0].(map[string]any)
	require.EqualValues(t, "2", seats["granted"])
	require.NotContains(t, seats["holders"], bobID)
	alice.refused(http.StatusBadRequest, "POST", path+":grantSeats", map[string]any{"user": bobID, "product": "products/cad", "seats": 1})
	alice.ok("POST", path+":setMemberEnabled", map[string]any{"user": bobID, "enabled": true})
	alice.ok("POST", path+":grantSeats", map[string]any{"user": bobID, "product": "products/cad", "seats": 5})

	// Removing: a member with their seats, a pending invitation by address.
	got = alice.ok("POST", path+":removeMember", map[string]any{"member": bobID})
	require.EqualValues(t, "2", got["products"].([]any)[0].(map[string]any)["granted"])
	got = alice.ok("POST", path+":removeMember", map[string]any{"member": "dave@acme.example"})
	require.Len(t, got["members"], 2, "alice and carol")
	bob.refused(http.StatusNotFound, "GET", path, nil)
	alice.refused(http.StatusBadRequest, "POST", path+":removeMember", map[string]any{"member": userOf("alice")})

	// Outsiders see nothing: another account, another tenant, a key session.
	eve.refused(http.StatusNotFound, "GET", path, nil)
	eve.refused(http.StatusNotFound, "POST", path+":invite", map[string]any{"emails": "eve@acme.example"})
	w.rival.refused(http.StatusNotFound, "GET", path, nil)
	require.Empty(t, eve.ok("GET", "/v1/organizations", nil)["organizations"])
	key := api.ok("POST", "/v1/auth:signInWithKey", map[string]any{"tenant_id": "self-co", "key": w.acmeEnt})["access_token"].(string)
	api.as(key).refused(http.StatusForbidden, "GET", "/v1/organizations", nil)
	require.Len(t, w.admin.ok("GET", "/v1/organizations", nil)["organizations"], 2, "producers see every organization")

	// Search, order and pages (PLT-2).
	require.Equal(t, []string{"CAD team"}, collect(t, w.admin, "/v1/organizations", "organizations", "display_name", url.Values{"filter": {`display_name = "cad*"`}}))
	require.Equal(t, []string{"Dave's", "CAD team"}, collect(t, w.admin, "/v1/organizations", "organizations", "display_name", url.Values{"order_by": {"display_name desc"}, "page_size": {"1"}}))
	e = w.admin.refused(http.StatusBadRequest, "GET", "/v1/organizations?filter="+url.QueryEscape("secret = 1"), nil)
	require.Equal(t, []string{"filter"}, fieldViolations(e))
	rows := readCSV(t, w.admin.do("GET", "/v1/organizations:export?order_by=display_name", nil))
	require.Equal(t, "organization_id", rows[0][1], "a header row (PLT-3)")
	require.Len(t, rows, 3)
	require.Equal(t, "CAD team", rows[1][2])
	require.Len(t, readCSV(t, eve.do("GET", "/v1/organizations:export", nil)), 1, "outsiders export only the header")
}
