package suite_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	entitlementpb "github.com/tessera-dev/tessera/gen/tessera/entitlement/v1"
	"github.com/tessera-dev/tessera/services/platform/ids"
	"github.com/tessera-dev/tessera/services/suite/suitetest"
)

// selfServiceWorld is a tenant with a product and three orders: two sold to nobody
// yet (end customers register with their IDs) and one sold to customer ACME.
type selfServiceWorld struct {
	api, admin, rival rest
	env               *suitetest.Env
	// entitlement IDs and their first activation IDs
	openEnt, openAct, spareEnt, spareAct, acmeEnt, acmeAct string
}

func newSelfServiceWorld(t *testing.T) selfServiceWorld {
	env := suitetest.Start(t)
	api := rest{t: t, base: env.Suite.GatewayURL}
	op := api.as(env.OperatorToken)
	createTenant(op, "self-co", "Admin-Password-1")
	createTenant(op, "self-rival", "Admin-Password-2")
	w := selfServiceWorld{
		api: api, env: env,
		admin: api.as(login(api, "self-co", "admin", "Admin-Password-1")),
		rival: api.as(login(api, "self-rival", "admin", "Admin-Password-2")),
	}
	w.admin.ok("POST", "/v1/accounts", map[string]any{"account_id": "ACME", "account": map[string]any{"display_name": "Acme", "type": "ACCOUNT_TYPE_CUSTOMER"}})
	w.admin.ok("POST", "/v1/licenseModels", map[string]any{"license_model_id": "nodelocked", "license_model": map[string]any{"display_name": "Node", "type": "LICENSE_MODEL_TYPE_NODELOCKED_UNCOUNTED", "allowed_host_id_types": []string{"HOSTNAME"}}})
	w.admin.ok("POST", "/v1/products", map[string]any{"product_id": "cad", "product": map[string]any{
		"display_name": "CAD", "version": "1.0", "license_technology": "LICENSE_TECHNOLOGY_CERTIFICATE",
		"features": []any{map[string]any{"name": "cad", "version": "1.0"}}, "license_models": []string{"licenseModels/nodelocked"},
	}})
	order := func(id, soldTo string) (string, string) {
		body := map[string]any{"order_id": id, "lines": []any{
			map[string]any{"line_number": "1", "product": "products/cad", "license_model": "licenseModels/nodelocked", "quantity": 5},
			map[string]any{"line_number": "2", "product": "products/cad", "license_model": "licenseModels/nodelocked", "quantity": 2},
		}}
		if soldTo != "" {
			body["sold_to"] = soldTo
		}
		e := w.admin.ok("POST", "/v1/orders", body)
		return e["entitlement_id"].(string), e["line_items"].([]any)[0].(map[string]any)["activation_id"].(string)
	}
	w.openEnt, w.openAct = order("SO-OPEN", "")
	w.spareEnt, w.spareAct = order("SO-SPARE", "")
	w.acmeEnt, w.acmeAct = order("SO-ACME", "accounts/ACME")
	return w
}

// register registers a person with a key and signs them in with a password of their
// own (after the forced change of the mailed temporary one).
func (w selfServiceWorld) register(t *testing.T, key, company, who string) (map[string]any, rest) {
	t.Helper()
	before := mailCount(t, w.env)
	body := map[string]any{"tenant_id": "self-co", "key": key, "person": person(who)}
	if company != "" {
		body["company"] = company
	}
	reg := w.api.ok("POST", "/v1/registrations", body)
	return reg, w.signIn(t, who+"@newco.example", before)
}

// signIn signs in with the temporary password mailed to email after the first
// `after` mails, and changes it.
func (w selfServiceWorld) signIn(t *testing.T, email string, after int) rest {
	t.Helper()
	pw := mailedPassword(t, w.env, email, after)
	first := w.api.as(login(w.api, "self-co", email, pw))
	first.ok("POST", "/v1/auth:changePassword", map[string]any{"old_password": pw, "new_password": "Chosen-Password-1", "confirm_password": "Chosen-Password-1"})
	return w.api.as(login(w.api, "self-co", email, "Chosen-Password-1"))
}

func person(name string) map[string]any {
	return map[string]any{"first_name": name, "last_name": "Example", "email": name + "@newco.example"}
}

// TestSelfRegistration_ACC10: an ID nobody owns makes a new self-registered account
// (company required) that takes the ID; the next person with an ID of that account
// joins it; a customer's ID does not let strangers in; unknown IDs and bad input are
// refused and change nothing.
func TestSelfRegistration_ACC10(t *testing.T) {
	w := newSelfServiceWorld(t)
	api := w.api

	e := api.refused(http.StatusBadRequest, "POST", "/v1/registrations", map[string]any{"tenant_id": "self-co", "key": w.openEnt, "person": map[string]any{"email": "not-an-email"}})
	require.Subset(t, fieldViolations(e), []string{"person.first_name", "person.last_name", "person.email"})
	e = api.refused(http.StatusBadRequest, "POST", "/v1/registrations", map[string]any{"tenant_id": "self-co", "key": w.openEnt, "person": person("nina")})
	require.Equal(t, []string{"company"}, fieldViolations(e), "a new account needs a company name")
	require.Empty(t, w.admin.ok("GET", "/v1/entitlements/"+w.openEnt, nil)["account"], "a refused registration claims nothing")
	e = api.refused(http.StatusBadRequest, "POST", "/v1/registrations", map[string]any{"tenant_id": "self-co", "key": "ENT-NOPE", "company": "NewCo", "person": person("nina")})
	require.Equal(t, []string{"key"}, fieldViolations(e))
	api.refused(http.StatusBadRequest, "POST", "/v1/registrations", map[string]any{"tenant_id": "self-rival", "key": w.openEnt, "company": "NewCo", "person": person("nina")})

	reg, nina := w.register(t, w.openEnt, "NewCo", "nina")
	require.Equal(t, false, reg["joined_existing"], "a new account was made")
	account := reg["account"].(string)
	require.Equal(t, "USER_TYPE_SELF_REGISTERED", reg["user"].(map[string]any)["type"])
	require.Equal(t, "nina@newco.example", reg["user"].(map[string]any)["username"], "the email is the login when no user name is given")

	acc := w.admin.ok("GET", "/v1/"+account, nil)
	require.Equal(t, "ACCOUNT_TYPE_SELF_REGISTERED", acc["type"])
	require.Equal(t, "NewCo", acc["display_name"])
	ent := nina.ok("GET", "/v1/entitlements/"+w.openEnt, nil)
	require.Equal(t, account, ent["account"], "the new account owns the entitlement")
	for _, li := range ent["line_items"].([]any) {
		require.Equal(t, account, li.(map[string]any)["account"])
	}
	require.Equal(t, []string{"customer_admin"}, rolesIn(nina, reg["user"].(map[string]any)["name"].(string), account), "the registrant administers the new account")

	// Someone else with the same ID joins the account as a plain user.
	before := mailCount(t, w.env)
	reg = api.ok("POST", "/v1/registrations", map[string]any{"tenant_id": "self-co", "key": w.openAct, "person": person("omar")})
	require.Equal(t, true, reg["joined_existing"])
	require.Equal(t, account, reg["account"])
	require.Equal(t, []any{"customer_user"}, reg["user"].(map[string]any)["memberships"].([]any)[0].(map[string]any)["roles"])
	mailedPassword(t, w.env, "omar@newco.example", before)
	api.refused(http.StatusConflict, "POST", "/v1/registrations", map[string]any{"tenant_id": "self-co", "key": w.openEnt, "person": person("omar")})

	// A customer account's ID is its administrators' to share.
	e = api.refused(http.StatusConflict, "POST", "/v1/registrations", map[string]any{"tenant_id": "self-co", "key": w.acmeEnt, "company": "Intruder", "person": person("ivan")})
	require.Equal(t, "KEY_OWNED_BY_CUSTOMER", e["reason"])
}

// TestRacingRegistrations_ACC10: people registering with one unowned ID at the same
// time end up in one account with one administrator.
func TestRacingRegistrations_ACC10(t *testing.T) {
	w := newSelfServiceWorld(t)
	const n = 6
	accounts := make([]string, n)
	joined := make([]bool, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			got := w.api.ok("POST", "/v1/registrations", map[string]any{"tenant_id": "self-co", "key": w.spareEnt, "company": "RaceCo", "person": person(fmt.Sprintf("racer%d", i))})
			accounts[i] = got["account"].(string)
			joined[i] = got["joined_existing"] == true
		})
	}
	wg.Wait()
	for _, a := range accounts {
		require.Equal(t, accounts[0], a)
	}
	created := 0
	for _, j := range joined {
		if !j {
			created++
		}
	}
	require.Equal(t, 1, created, "exactly one registration made the account")
	users := w.admin.ok("GET", "/v1/users?filter="+url.QueryEscape(`email = "racer*"`), nil)["users"].([]any)
	require.Len(t, users, n)
	admins := 0
	for _, u := range users {
		if slices.Equal(rolesIn(w.admin, u.(map[string]any)["name"].(string), accounts[0]), []string{"customer_admin"}) {
			admins++
		}
	}
	require.Equal(t, 1, admins)
}

// TestRegistrationAfterCrash_ACC10: a registration that claimed its ID and died before
// making the account is finished by the next registration with that ID.
func TestRegistrationAfterCrash_ACC10(t *testing.T) {
	w := newSelfServiceWorld(t)
	derived := "SR-" + ids.FromKey("self-co", "self-registration", w.spareEnt).String()[:18]
	ent := entitlementpb.NewEntitlementServiceClient(w.env.Dial(t, "entitlement"))
	_, err := ent.AssignEntitlementKey(w.env.As(t, suitetest.Service("self-co")), &entitlementpb.AssignEntitlementKeyRequest{Key: w.spareEnt, Account: "accounts/" + derived})
	require.NoError(t, err, "the first half of the crashed registration")
	w.admin.refused(http.StatusNotFound, "GET", "/v1/accounts/"+derived, nil)

	reg, _ := w.register(t, w.spareEnt, "PhoenixCo", "phoebe")
	require.Equal(t, "accounts/"+derived, reg["account"])
	require.Equal(t, false, reg["joined_existing"])
	require.Equal(t, "PhoenixCo", w.admin.ok("GET", "/v1/accounts/"+derived, nil)["display_name"])
}

// TestJoinAccount_ACC11: an order number of the account lets a person in at once; a
// wrong pairing is refused without saying which half was wrong.
func TestJoinAccount_ACC11(t *testing.T) {
	w := newSelfServiceWorld(t)
	api := w.api
	join := func(account, order, who string) reply {
		return api.do("POST", "/v1/accounts/"+account+":join", map[string]any{"tenant_id": "self-co", "order_id": order, "person": person(who)})
	}
	for _, bad := range []struct{ account, order string }{{"ACME", "SO-OPEN"}, {"ACME", "SO-NOPE"}, {"NOPE", "SO-ACME"}} {
		got := join(bad.account, bad.order, "paul")
		require.Equal(t, http.StatusBadRequest, got.Status, got.Raw)
		require.Contains(t, string(got.Raw), "is not an order of that account")
	}
	e := api.refused(http.StatusBadRequest, "POST", "/v1/accounts/ACME:join", map[string]any{"tenant_id": "self-co", "person": person("paul")})
	require.Equal(t, []string{"order_id"}, fieldViolations(e))
	require.Equal(t, http.StatusBadRequest, api.do("POST", "/v1/accounts/ACME:join", map[string]any{"tenant_id": "self-rival", "order_id": "SO-ACME", "person": person("paul")}).Status)

	before := mailCount(t, w.env)
	got := join("ACME", "SO-ACME", "paul")
	require.Equal(t, http.StatusOK, got.Status, got.Raw)
	paul := w.signIn(t, "paul@newco.example", before)
	require.Equal(t, "accounts/ACME", paul.ok("GET", "/v1/entitlements/"+w.acmeEnt, nil)["account"])
	paul.refused(http.StatusForbidden, "POST", "/v1/users", map[string]any{"user": person("x")})
}

// TestClaimKeys_ACC12: a self-registered account claims more IDs one at a time; an ID
// another account owns, unknown IDs, other people's accounts and customer accounts are
// refused.
func TestClaimKeys_ACC12(t *testing.T) {
	w := newSelfServiceWorld(t)
	reg, cleo := w.register(t, w.openAct, "ClaimCo", "cleo")
	account := reg["account"].(string)

	// Registering with an activation ID took just that line item.
	require.Equal(t, account, cleo.ok("GET", "/v1/lineItems/"+w.openAct, nil)["account"])
	require.Empty(t, w.admin.ok("GET", "/v1/entitlements/"+w.openEnt, nil)["account"])

	// The rest of that entitlement, then a second one.
	got := cleo.ok("POST", "/v1/"+account+":claimKey", map[string]any{"key": w.openEnt})
	require.Equal(t, "entitlements/"+w.openEnt, got["entitlement"])
	cleo.ok("POST", "/v1/"+account+":claimKey", map[string]any{"key": w.openEnt}) // again: no change, no error
	cleo.ok("POST", "/v1/"+account+":claimKey", map[string]any{"key": w.spareEnt})
	for _, li := range cleo.ok("GET", "/v1/entitlements/"+w.spareEnt, nil)["line_items"].([]any) {
		require.Equal(t, account, li.(map[string]any)["account"])
	}

	e := cleo.refused(http.StatusConflict, "POST", "/v1/"+account+":claimKey", map[string]any{"key": w.acmeAct})
	require.Equal(t, "KEY_ALREADY_OWNED", e["reason"])
	cleo.refused(http.StatusBadRequest, "POST", "/v1/"+account+":claimKey", map[string]any{"key": "ACT-NOPE"})
	e = cleo.refused(http.StatusBadRequest, "POST", "/v1/"+account+":claimKey", map[string]any{})
	require.Equal(t, []string{"key"}, fieldViolations(e))
	cleo.refused(http.StatusNotFound, "POST", "/v1/accounts/ACME:claimKey", map[string]any{"key": w.spareAct})
	e = w.admin.refused(http.StatusConflict, "POST", "/v1/accounts/ACME:claimKey", map[string]any{"key": w.spareAct})
	require.Equal(t, "NOT_SELF_REGISTERED", e["reason"])
	w.rival.refused(http.StatusNotFound, "POST", "/v1/"+account+":claimKey", map[string]any{"key": w.spareAct})
}

// TestSignInWithKey_ACC18: an entitlement ID alone opens a session that sees that
// entitlement, its line items and their fulfillments, and can activate them; an
// activation ID alone sees that line item only. Neither sees anything else.
func TestSignInWithKey_ACC18(t *testing.T) {
	w := newSelfServiceWorld(t)
	api := w.api
	api.refused(http.StatusUnauthorized, "POST", "/v1/auth:signInWithKey", map[string]any{"tenant_id": "self-co", "key": "ENT-NOPE"})
	api.refused(http.StatusUnauthorized, "POST", "/v1/auth:signInWithKey", map[string]any{"tenant_id": "self-co", "key": "SO-ACME"})
	api.refused(http.StatusUnauthorized, "POST", "/v1/auth:signInWithKey", map[string]any{"tenant_id": "self-rival", "key": w.acmeEnt})
	e := api.refused(http.StatusBadRequest, "POST", "/v1/auth:signInWithKey", map[string]any{"tenant_id": "self-co"})
	require.Equal(t, []string{"key"}, fieldViolations(e))

	s := api.ok("POST", "/v1/auth:signInWithKey", map[string]any{"tenant_id": "self-co", "key": w.acmeEnt})
	require.Equal(t, "entitlements/"+w.acmeEnt, s["entitlement"])
	byEnt := api.as(s["access_token"].(string))
	ent := byEnt.ok("GET", "/v1/entitlements/"+w.acmeEnt, nil)
	require.Len(t, ent["line_items"], 2)
	second := ent["line_items"].([]any)[1].(map[string]any)["activation_id"].(string)
	byEnt.ok("GET", "/v1/lineItems/"+second, nil)
	ful := byEnt.ok("POST", "/v1/lineItems/"+w.acmeAct+":activate", map[string]any{"host_id": "HOSTNAME=keyhost", "quantity": 1})
	byEnt.ok("GET", "/v1/"+ful["name"].(string), nil)
	byEnt.refused(http.StatusNotFound, "GET", "/v1/entitlements/"+w.openEnt, nil)
	byEnt.refused(http.StatusNotFound, "GET", "/v1/lineItems/"+w.openAct, nil)
	byEnt.refused(http.StatusNotFound, "POST", "/v1/lineItems/"+w.openAct+":activate", map[string]any{"host_id": "HOSTNAME=keyhost", "quantity": 1})
	byEnt.refused(http.StatusForbidden, "GET", "/v1/accounts/ACME", nil)
	byEnt.refused(http.StatusForbidden, "GET", "/v1/users", nil)
	byEnt.refused(http.StatusForbidden, "POST", "/v1/accessTokens", map[string]any{"access_token": map[string]any{"display_name": "sneaky"}, "expires_in": "1d"})

	s = api.ok("POST", "/v1/auth:signInWithKey", map[string]any{"tenant_id": "self-co", "key": w.acmeAct})
	require.Equal(t, w.acmeAct, s["activation_id"])
	byAct := api.as(s["access_token"].(string))
	byAct.ok("GET", "/v1/lineItems/"+w.acmeAct, nil)
	byAct.ok("GET", "/v1/"+ful["name"].(string), nil)
	byAct.refused(http.StatusNotFound, "GET", "/v1/lineItems/"+second, nil)
	byAct.refused(http.StatusNotFound, "GET", "/v1/entitlements/"+w.acmeEnt, nil)

	// An unowned entitlement's ID signs in too, and can be activated.
	s = api.ok("POST", "/v1/auth:signInWithKey", map[string]any{"tenant_id": "self-co", "key": w.spareEnt})
	api.as(s["access_token"].(string)).ok("POST", "/v1/lineItems/"+w.spareAct+":activate", map[string]any{"host_id": "HOSTNAME=spare", "quantity": 1})
}

// TestReplaceAdministrator_ACC11: the producer's support desk makes a member the
// administrator in place of the current one, with a reason kept in the audit trail.
func TestReplaceAdministrator_ACC11(t *testing.T) {
	w := newSelfServiceWorld(t)
	api := w.api
	reg, adaAPI := w.register(t, w.openEnt, "SwapCo", "ada")
	account := reg["account"].(string)
	ada := reg["user"].(map[string]any)["name"].(string)
	ben := api.ok("POST", "/v1/registrations", map[string]any{"tenant_id": "self-co", "key": w.openEnt, "person": person("ben")})["user"].(map[string]any)["name"].(string)

	body := map[string]any{"user": ben, "reason": "ticket 4711: Ada left the company"}
	adaAPI.refused(http.StatusForbidden, "POST", "/v1/"+account+":replaceAdministrator", body)
	w.rival.refused(http.StatusNotFound, "POST", "/v1/"+account+":replaceAdministrator", body)
	e := w.admin.refused(http.StatusBadRequest, "POST", "/v1/"+account+":replaceAdministrator", map[string]any{"user": ben})
	require.Equal(t, []string{"reason"}, fieldViolations(e))
	e = w.admin.refused(http.StatusBadRequest, "POST", "/v1/accounts/ACME:replaceAdministrator", body)
	require.Equal(t, []string{"user"}, fieldViolations(e), "only a member can become administrator")

	got := w.admin.ok("POST", "/v1/"+account+":replaceAdministrator", body)
	require.Equal(t, []any{ada}, got["replaced"])
	require.Equal(t, []string{"customer_admin"}, rolesIn(w.admin, ben, account))
	require.Equal(t, []string{"customer_user"}, rolesIn(w.admin, ada, account))
	audit := w.admin.ok("GET", "/v1/auditEvents?filter="+url.QueryEscape(`subject = "tessera.account.account.administrator_replaced"`), nil)["audit_events"].([]any)
	require.Len(t, audit, 1)
	require.Contains(t, audit[0].(map[string]any)["payload_json"], "ticket 4711")
}

// rolesIn returns the roles a user holds in an account.
func rolesIn(api rest, user, account string) []string {
	for _, m := range api.ok("GET", "/v1/"+user, nil)["memberships"].([]any) {
		m := m.(map[string]any)
		if m["account"] == account {
			var out []string
			for _, r := range m["roles"].([]any) {
				out = append(out, r.(string))
			}
			return out
		}
	}
	return nil
}
