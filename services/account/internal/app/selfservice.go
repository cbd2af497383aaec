package app

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"

	commonpb "github.com/tessera-dev/tessera/gen/tessera/common/v1"
	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/ids"
)

// EntitlementKey is what an entitlement ID, activation ID or order number names in
// the entitlement service; AccountID is empty while nobody owns it.
type EntitlementKey struct {
	EntitlementID, ActivationID, AccountID string
}

// EntitlementKeys is what self-service entry needs of the entitlement service.
type EntitlementKeys interface {
	// Resolve looks up an entitlement ID or activation ID, or with orderID an order
	// number. Unknown keys are NotFound.
	Resolve(ctx context.Context, key string, orderID bool) (EntitlementKey, error)
	// Assign gives an unowned entitlement or line item to the account (a no-op when
	// that account owns it already).
	Assign(ctx context.Context, key, accountID string) (EntitlementKey, error)
	// Redeem redeems a web register key for the account (SPEC ENT-6).
	Redeem(ctx context.Context, key, accountID string) (EntitlementKey, error)
	// Licensed returns the deployed quantity per product of what k names: its
	// entitlement's line items, or its one line item.
	Licensed(ctx context.Context, k EntitlementKey) (map[string]int64, error)
}

// WebRegisterKeyPrefix starts the web register keys of bulk entitlements.
const WebRegisterKeyPrefix = "WRK-"

// Newcomer is a person registering or joining on their own.
type Newcomer struct {
	Username, FirstName, LastName, Email, Phone, TimeZone, Locale string
	MarketingOptIn                                                bool
}

func (n Newcomer) user(typ string, m Membership) User {
	u := User{
		Username: n.Username, FirstName: n.FirstName, LastName: n.LastName, Email: n.Email, Phone: n.Phone,
		TimeZone: n.TimeZone, Locale: n.Locale, MarketingOptIn: n.MarketingOptIn, Type: typ, CanLogin: true,
		Memberships: []Membership{m},
	}
	if u.Username == "" {
		u.Username = strings.ToLower(n.Email)
	}
	return u
}

func checkNewcomer(v *errs.Violations, u User) {
	if !username.MatchString(u.Username) {
		v.Add("person.username", "must be 3-64 letters, digits or . _ @ + -, starting with a letter or digit")
	}
	checkProfile(v, "person.", u)
}

// errUnknownKey is the one answer for IDs that do not exist, so they cannot be
// probed apart from IDs that exist but may not be used.
var errUnknownKey = errs.Invalid("key", "is not an entitlement ID or activation ID that can be registered")

// Registration is the outcome of RegisterSelf.
type Registration struct {
	User           User
	AccountID      string
	JoinedExisting bool
}

// RegisterSelf registers a person with an entitlement ID or activation ID (SPEC
// ACC-10). The self-registered account that owns the ID takes them in as a user; an
// ID nobody owns gets a new self-registered account named after the company, with the
// person as its administrator. The new account's ID is derived from the key, so
// racing or retried registrations with one key end in one account: the first to
// create it administers it, the others join it.
func (a *App) RegisterSelf(ctx context.Context, tenant, key, company string, addr Address, n Newcomer) (Registration, error) {
	var v errs.Violations
	v.Require("tenant_id", tenant)
	v.Require("key", key)
	if len(company) > 200 {
		v.Add("company", "must be at most 200 characters")
	}
	checkNewcomer(&v, n.user(AccountSelfRegistered, Membership{}))
	if err := v.Err(); err != nil {
		return Registration{}, err
	}
	ctx = authz.ForTenant(ctx, tenant)
	k, err := a.keys.Resolve(ctx, key, false)
	if errs.IsKind(err, errs.KindNotFound) {
		return Registration{}, errUnknownKey
	}
	if err != nil {
		return Registration{}, err
	}
	accountID := "SR-" + ids.FromKey(tenant, "self-registration", key).String()[:18]
	switch k.AccountID {
	case "":
	case accountID: // a registration that crashed after claiming, or a racing one
	default:
		owner, err := a.store.GetAccount(ctx, tenant, k.AccountID)
		if err != nil && !errs.IsKind(err, errs.KindNotFound) {
			return Registration{}, err
		}
		if owner.Type != AccountSelfRegistered {
			// A customer account's IDs are its administrators' to share.
			return Registration{}, errs.FailedPrecondition("KEY_OWNED_BY_CUSTOMER", "this ID belongs to a customer account; ask its administrator to add you")
		}
		return a.joinSelfRegistered(ctx, tenant, owner.ID, n)
	}
	if _, err := a.store.GetAccount(ctx, tenant, accountID); err == nil {
		return a.joinSelfRegistered(ctx, tenant, accountID, n)
	} else if !errs.IsKind(err, errs.KindNotFound) {
		return Registration{}, err
	}
	if company == "" {
		return Registration{}, errs.Invalid("company", "is required to register a new account")
	}
	// Claim first: if the process dies after this, a retry finds the key owned by the
	// derived account and carries on.
	if _, err := a.keys.Assign(ctx, key, accountID); err != nil {
		return Registration{}, err
	}
	acc := Account{ID: accountID, DisplayName: company, Type: AccountSelfRegistered, Address: addr, VisibleToPartners: true}
	u, err := a.prepareNewcomer(n, AccountSelfRegistered, Membership{AccountID: accountID, Roles: []string{authz.RoleCustomerAdmin.ID}})
	if err != nil {
		return Registration{}, err
	}
	created, err := a.store.CreateAccountWithUser(ctx, tenant, acc, u.User)
	if e, ok := errs.As(err); ok && e.Kind == errs.KindAlreadyExists && e.Metadata["resource"] == "account" {
		// Another registration made the account between our look and our insert.
		return a.joinSelfRegistered(ctx, tenant, accountID, n)
	}
	if err != nil {
		return Registration{}, err
	}
	return Registration{User: created, AccountID: accountID}, a.welcome(ctx, tenant, created, u.password)
}

func (a *App) joinSelfRegistered(ctx context.Context, tenant, accountID string, n Newcomer) (Registration, error) {
	u, err := a.addNewcomer(ctx, tenant, n, AccountSelfRegistered, Membership{AccountID: accountID, Roles: []string{authz.RoleCustomerUser.ID}})
	return Registration{User: u, AccountID: accountID, JoinedExisting: true}, err
}

// JoinAccount adds a person to a customer or self-registered account at once when the
// order number they give is one of that account's orders (SPEC ACC-11).
func (a *App) JoinAccount(ctx context.Context, tenant, accountID, orderID string, n Newcomer) (User, error) {
	var v errs.Violations
	v.Require("tenant_id", tenant)
	v.Require("account", accountID)
	v.Require("order_id", orderID)
	checkNewcomer(&v, n.user(AccountCustomer, Membership{}))
	if err := v.Err(); err != nil {
		return User{}, err
	}
	ctx = authz.ForTenant(ctx, tenant)
	mismatch := errs.Invalid("order_id", "is not an order of that account")
	k, err := a.keys.Resolve(ctx, orderID, true)
	if errs.IsKind(err, errs.KindNotFound) || (err == nil && k.AccountID != accountID) {
		return User{}, mismatch
	}
	if err != nil {
		return User{}, err
	}
	acc, err := a.store.GetAccount(ctx, tenant, accountID)
	if err != nil {
		return User{}, err
	}
	if acc.Type != AccountCustomer && acc.Type != AccountSelfRegistered {
		return User{}, mismatch
	}
	return a.addNewcomer(ctx, tenant, n, acc.Type, Membership{AccountID: accountID, Roles: []string{authz.RoleCustomerUser.ID}})
}

// ClaimKey maps one more entitlement ID or activation ID to a self-registered account
// the caller acts for (SPEC ACC-12). Customer accounts get their entitlements from
// orders and redeem web register keys instead.
func (a *App) ClaimKey(ctx context.Context, accountID, key string) (EntitlementKey, error) {
	var v errs.Violations
	v.Require("account", accountID)
	v.Require("key", key)
	if err := v.Err(); err != nil {
		return EntitlementKey{}, err
	}
	acc, err := a.GetAccount(ctx, accountID)
	if err != nil {
		return EntitlementKey{}, err
	}
	if strings.HasPrefix(key, WebRegisterKeyPrefix) {
		// A web register key of a bulk entitlement becomes an entitlement of its own.
		k, err := a.keys.Redeem(ctx, key, accountID)
		if errs.IsKind(err, errs.KindInvalid) {
			return k, errUnknownKey
		}
		return k, err
	}
	if acc.Type != AccountSelfRegistered {
		return EntitlementKey{}, errs.FailedPrecondition("NOT_SELF_REGISTERED", "only self-registered accounts claim entitlement and activation IDs; customer accounts redeem web register keys")
	}
	k, err := a.keys.Assign(ctx, key, accountID)
	if errs.IsKind(err, errs.KindNotFound) {
		return k, errUnknownKey
	}
	return k, err
}

type newcomer struct {
	User
	password string
}

// prepareNewcomer builds a user with a temporary password for a newcomer.
func (a *App) prepareNewcomer(n Newcomer, typ string, m Membership) (newcomer, error) {
	u := n.user(typ, m)
	pw := GeneratePassword()
	hash, err := HashPassword(a.cfg.Password, pw)
	if err != nil {
		return newcomer{}, err
	}
	u.ID = ids.New("USR", 3)
	u.PasswordHash = hash
	u.Status = UserActive
	u.MustChangePassword = true
	return newcomer{User: u, password: pw}, nil
}

// addNewcomer stores a newcomer as a member of an existing account and welcomes them.
func (a *App) addNewcomer(ctx context.Context, tenant string, n Newcomer, typ string, m Membership) (User, error) {
	u, err := a.prepareNewcomer(n, typ, m)
	if err != nil {
		return User{}, err
	}
	created, err := a.store.CreateUser(ctx, tenant, u.User)
	if err != nil {
		return User{}, err
	}
	return created, a.welcome(ctx, tenant, created, u.password)
}

func (a *App) welcome(ctx context.Context, tenant string, u User, pw string) error {
	return a.mailTemporaryPassword(ctx, tenant, u, pw, "Welcome to Tessera: your registration is complete.")
}

// KeySession is a session opened with an entitlement ID or activation ID alone.
type KeySession struct {
	ID, TenantID, EntitlementID, ActivationID string
	Hash                                      []byte
	ExpiresAt                                 time.Time
}

// SignInWithKey opens a session that sees only the entitlement, or the line item,
// the key names (SPEC ACC-18). Order numbers do not sign in.
func (a *App) SignInWithKey(ctx context.Context, tenant, key string) (KeySession, string, error) {
	var v errs.Violations
	v.Require("tenant_id", tenant)
	v.Require("key", key)
	if err := v.Err(); err != nil {
		return KeySession{}, "", err
	}
	k, err := a.keys.Resolve(authz.ForTenant(ctx, tenant), key, false)
	if errs.IsKind(err, errs.KindNotFound) {
		return KeySession{}, "", errs.Unauthenticated("LOGIN_FAILED", "unknown entitlement ID or activation ID")
	}
	if err != nil {
		return KeySession{}, "", err
	}
	value, hash := NewTokenValue()
	s := KeySession{
		ID: uuid.Must(uuid.NewV7()).String(), TenantID: tenant, EntitlementID: k.EntitlementID, ActivationID: k.ActivationID,
		Hash: hash, ExpiresAt: a.now().Add(a.cfg.SessionTTL),
	}
	return s, value, a.store.CreateKeySession(ctx, s)
}

// keyPrincipal is what a key session may do: look at its entitlement or line item,
// its fulfillments, the products in it and the devices holding it, and activate it.
func keyPrincipal(s KeySession) *commonpb.Principal {
	p := &commonpb.Principal{
		Kind: commonpb.PrincipalKind_PRINCIPAL_KIND_ENTITLEMENT_KEY, TenantId: s.TenantID, TokenId: s.ID,
		Permissions: []string{
			string(authz.EntitlementsView), string(authz.CatalogView), string(authz.LicensesView), string(authz.LicensesGenerate),
			// The devices holding its line item (SPEC DEV-5).
			string(authz.DevicesView),
		},
	}
	if s.ActivationID != "" {
		p.ScopeActivationId = s.ActivationID
	} else {
		p.ScopeEntitlementId = s.EntitlementID
	}
	return p
}

// ReplaceAdministrator makes a member the administrator of an account in place of its
// current administrators: a producer's support action that must say why (SPEC ACC-11).
func (a *App) ReplaceAdministrator(ctx context.Context, accountID, userID, reason string) ([]string, User, error) {
	var v errs.Violations
	v.Require("account", accountID)
	v.Require("user", userID)
	v.Require("reason", strings.TrimSpace(reason))
	if len(reason) > 1000 {
		v.Add("reason", "must be at most 1000 characters")
	}
	if err := v.Err(); err != nil {
		return nil, User{}, err
	}
	tenant := authz.MustTenant(ctx)
	replaced, err := a.store.ReplaceAdministrator(ctx, tenant, accountID, userID, reason)
	if err != nil {
		return nil, User{}, err
	}
	u, err := a.store.GetUser(ctx, tenant, userID)
	return replaced, u, err
}
