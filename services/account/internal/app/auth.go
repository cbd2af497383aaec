package app

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	commonpb "github.com/tessera-dev/tessera/gen/tessera/common/v1"
	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/errs"
)

// TokenPrefix starts every Tessera bearer token.
const TokenPrefix = "rna_"

// NewTokenValue returns a fresh bearer token and its hash.
func NewTokenValue() (string, []byte) {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	v := TokenPrefix + hex.EncodeToString(b)
	return v, HashToken(v)
}

// HashToken is how a token is stored and looked up.
func HashToken(v string) []byte {
	h := sha256.Sum256([]byte(v))
	return h[:]
}

// LoginResult is a new session.
type LoginResult struct {
	Token string
	User  User
	Saved Token
	// MustChangePassword: the session may only change the password.
	MustChangePassword bool
}

// errBadLogin is the one answer to every refused password sign-in: unknown user, wrong
// password, locked or inactive user. Any other answer would tell a guesser that the
// user exists or that a guess was right.
var errBadLogin = errs.Unauthenticated("LOGIN_FAILED", "unknown user name or wrong password")

// Login checks a password and opens a session token. Every attempt, whatever the user's
// state, costs exactly one password hash comparison (against a decoy hash of the
// configured cost for unknown users), so the answer's timing tells nothing either.
func (a *App) Login(ctx context.Context, tenant, user, password string) (LoginResult, error) {
	var v errs.Violations
	v.Require("tenant_id", tenant)
	v.Require("username", user)
	v.Require("password", password)
	if err := v.Err(); err != nil {
		return LoginResult{}, err
	}
	u, err := a.store.UserByUsername(ctx, tenant, user)
	known := err == nil
	if err != nil && !errs.IsKind(err, errs.KindNotFound) {
		return LoginResult{}, err
	}
	hasPassword := known && u.PasswordHash != ""
	stored := a.decoyHash
	if hasPassword {
		stored = u.PasswordHash
	}
	right := a.checkPassword(stored, password) && hasPassword
	if !known {
		return LoginResult{}, errBadLogin
	}
	if !right {
		// Counted (and the lockout announced and audited) for an active user; an
		// inactive one has nothing more to count. Either way the caller learns nothing.
		if _, err := a.store.RecordFailedLogin(ctx, tenant, u.ID, a.cfg.LockoutAfter); err != nil {
			return LoginResult{}, err
		}
		return LoginResult{}, errBadLogin
	}
	if u.Status != UserActive {
		// Locked out or deactivated: the right password opens nothing and must not be
		// told apart from a wrong one, or guessing would go on past the lockout.
		return LoginResult{}, errBadLogin
	}
	// Only a caller who knows the password of an active user learns that it is a
	// contact who never signs in.
	if !u.CanLogin {
		return LoginResult{}, errs.Unauthenticated("LOGIN_NOT_ALLOWED", "this user is a contact and cannot sign in")
	}
	if u.FailedLogins > 0 {
		if err := a.store.ResetFailedLogins(ctx, tenant, u.ID); err != nil {
			return LoginResult{}, err
		}
	}
	value, hash := NewTokenValue()
	t := Token{
		ID: uuid.Must(uuid.NewV7()).String(), TenantID: tenant, UserID: u.ID, Hash: hash, Kind: TokenSession,
		CreatedBy: u.ID, ExpiresAt: a.now().Add(a.cfg.SessionTTL),
	}
	if err := a.store.CreateToken(ctx, t); err != nil {
		return LoginResult{}, err
	}
	return LoginResult{Token: value, User: u, Saved: t, MustChangePassword: u.MustChangePassword}, nil
}

// Authenticate resolves a bearer token to the principal the gateway will sign, and
// says until when the token is valid.
func (a *App) Authenticate(ctx context.Context, value string) (*commonpb.Principal, time.Time, error) {
	if !strings.HasPrefix(value, TokenPrefix) {
		return nil, time.Time{}, errs.Unauthenticated("TOKEN_INVALID", "the bearer token is not valid")
	}
	t, u, err := a.store.TokenByHash(ctx, HashToken(value))
	if errs.IsKind(err, errs.KindNotFound) {
		return a.authenticateKeySession(ctx, value)
	}
	if err != nil {
		return nil, time.Time{}, err
	}
	if !a.now().Before(t.ExpiresAt) {
		return nil, time.Time{}, errs.Unauthenticated("TOKEN_EXPIRED", "the bearer token has expired")
	}
	if u.Status != UserActive {
		return nil, time.Time{}, errs.Unauthenticated("USER_INACTIVE", "the user is inactive")
	}
	if t.Kind == TokenImpersonated {
		// The impersonation lasts only while its maker is an active user.
		creator, err := a.store.GetUser(ctx, t.TenantID, t.CreatedBy)
		if err != nil || creator.Status != UserActive {
			return nil, time.Time{}, errs.Unauthenticated("TOKEN_INVALID", "the bearer token is not valid")
		}
	}
	roles, err := a.roles(ctx, t.TenantID)
	if err != nil {
		return nil, time.Time{}, err
	}
	p := PrincipalFor(t, u, roles)
	if !p.GetTenantWide() && len(p.GetAccountIds()) > 0 {
		// Scope covers the sub-accounts of the user's accounts too (a partner's tier,
		// a customer's subsidiaries).
		below, err := a.store.Descendants(ctx, t.TenantID, p.GetAccountIds())
		if err != nil {
			return nil, time.Time{}, err
		}
		for _, id := range below {
			if !slices.Contains(p.GetAccountIds(), id) {
				p.AccountIds = append(p.AccountIds, id)
			}
		}
	}
	return p, t.ExpiresAt, nil
}

func (a *App) authenticateKeySession(ctx context.Context, value string) (*commonpb.Principal, time.Time, error) {
	ks, err := a.store.KeySessionByHash(ctx, HashToken(value))
	if errs.IsKind(err, errs.KindNotFound) {
		return nil, time.Time{}, errs.Unauthenticated("TOKEN_INVALID", "the bearer token is not valid")
	}
	if err != nil {
		return nil, time.Time{}, err
	}
	if !a.now().Before(ks.ExpiresAt) {
		return nil, time.Time{}, errs.Unauthenticated("TOKEN_EXPIRED", "the bearer token has expired")
	}
	return keyPrincipal(ks), ks.ExpiresAt, nil
}

// PrincipalFor derives a user's principal from their memberships' roles (roles maps
// the tenant's role IDs, built-in and custom, to their permissions).
func PrincipalFor(t Token, u User, roles map[string]authz.Role) *commonpb.Principal {
	p := &commonpb.Principal{
		Kind: commonpb.PrincipalKind_PRINCIPAL_KIND_USER, TenantId: t.TenantID, UserId: u.ID, Username: u.Username,
		TokenId: t.ID, Impersonated: t.Kind == TokenImpersonated,
	}
	if p.GetImpersonated() {
		p.ImpersonatorId = t.CreatedBy
	}
	if u.MustChangePassword {
		// A temporary password opens the door to one room: choosing a new password.
		p.Permissions = []string{string(authz.ProfileManage)}
		p.TenantWide = false
		return p
	}
	perms := map[authz.Permission]bool{}
	p.Partner = u.Type == AccountPartner
	for _, m := range u.Memberships {
		p.AccountIds = append(p.AccountIds, m.AccountID)
		p.MemberAccountIds = append(p.MemberAccountIds, m.AccountID)
		for _, r := range m.Roles {
			role := roles[r]
			p.TenantWide = p.GetTenantWide() || role.TenantWide
			for _, perm := range role.Permissions {
				perms[perm] = true
			}
		}
	}
	for perm := range perms {
		p.Permissions = append(p.Permissions, string(perm))
	}
	if !p.GetTenantWide() {
		p.ProductLines = u.ProductLines
	}
	return p
}
