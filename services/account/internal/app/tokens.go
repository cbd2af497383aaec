package app

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	commonpb "github.com/tessera-dev/tessera/gen/tessera/common/v1"
	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/duration"
	"github.com/tessera-dev/tessera/services/platform/errs"
)

// TokenStore is the persistence access tokens need.
type TokenStore interface {
	CreateToken(ctx context.Context, t Token) error
	GetToken(ctx context.Context, tenant, id string) (Token, error)
	TokenByRequest(ctx context.Context, tenant, createdBy, requestID string) (Token, error)
	// ListTokens pages by ID through the tokens f selects.
	ListTokens(ctx context.Context, tenant string, f TokenFilter, after string, limit int) ([]Token, error)
	// UpdateToken applies fn to the token under a row lock.
	UpdateToken(ctx context.Context, tenant, id string, fn func(*Token) error) (Token, error)
	DeleteToken(ctx context.Context, tenant, id string) error
}

// TokenFilter narrows ListTokens. With neither Mine nor Accounts set it selects
// every token of the tenant.
type TokenFilter struct {
	Kinds []string
	// Mine keeps the tokens made by this user, and the NORMAL ones made for them.
	Mine string
	// Accounts also keeps the tokens acting as users of these accounts.
	Accounts []string
}

// forbiddenInTokenNames are the characters token names may not hold (SPEC ACC-17).
const forbiddenInTokenNames = `*<>+$?.^|%]\` //nolint:gosec // characters, not a credential

// markup catches HTML and script smuggled without angle brackets.
var markup = regexp.MustCompile(`(?i)&#?[a-z0-9]+;|javascript:|on[a-z]+\s*=`)

// TokenNameProblem returns why a token name is refused, or "".
func TokenNameProblem(name string) string {
	n := utf8.RuneCountInString(name)
	switch {
	case !utf8.ValidString(name):
		return "must be valid UTF-8"
	case n < 5 || n > 25:
		return "must be 5 to 25 characters long"
	case strings.ContainsAny(name, forbiddenInTokenNames):
		return "must not contain any of " + strings.Join(strings.Split(forbiddenInTokenNames, ""), " ")
	case markup.MatchString(name):
		return "must not contain markup"
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return "must not contain control characters"
	case strings.TrimSpace(name) != name:
		return "must not start or end with spaces"
	}
	return ""
}

// tokenLifetime reads an expires_in value into an expiry after now.
func tokenLifetime(field, expiresIn string, now time.Time) (time.Time, error) {
	d, err := duration.Parse(expiresIn)
	if err != nil {
		return time.Time{}, errs.InvalidReason("EXPIRY_INVALID", field, "%s", err.Error())
	}
	exp := d.After(now)
	if exp.Before(now.Add(time.Minute)) {
		return time.Time{}, errs.InvalidReason("EXPIRY_INVALID", field, "a token lives at least one minute")
	}
	return exp, nil
}

// privileged reports whether p may manage other users' tokens.
func privileged(p *commonpb.Principal) bool {
	return authz.Has(p, authz.TokensImpersonate) && authz.Has(p, authz.UsersManage)
}

// callerUser refuses principals that are not a person signed in as themself: an
// impersonated principal may not make or manage tokens, or it could outlive its
// impersonation.
func callerUser(ctx context.Context) (*commonpb.Principal, error) {
	p, _ := authz.FromContext(ctx)
	if p.GetKind() != commonpb.PrincipalKind_PRINCIPAL_KIND_USER || p.GetUserId() == "" {
		return nil, errs.PermissionDenied(string(authz.TokensManage))
	}
	if p.GetImpersonated() {
		return nil, &errs.Error{Kind: errs.KindPermissionDenied, Reason: "IMPERSONATED", Message: "tokens cannot be managed while impersonating another user"}
	}
	return p, nil
}

// NewToken is the input of CreateAccessToken.
type NewToken struct {
	Name, Description, CreatedFor, ExpiresIn, RequestID string
}

// CreateAccessToken makes a NORMAL token for the caller, or an IMPERSONATED one for
// another user when CreatedFor names them. It returns the token and its value.
func (a *App) CreateAccessToken(ctx context.Context, in NewToken) (Token, string, error) {
	p, err := callerUser(ctx)
	if err != nil {
		return Token{}, "", err
	}
	now := a.now()
	var v errs.Violations
	if reason := TokenNameProblem(in.Name); reason != "" {
		v.Add("access_token.display_name", "%s", reason)
	}
	if len(in.Description) > 1000 {
		v.Add("access_token.description", "must be at most 1000 characters")
	}
	if len(in.RequestID) > 128 {
		v.Add("request_id", "must be at most 128 characters")
	}
	exp, expErr := tokenLifetime("expires_in", in.ExpiresIn, now)
	if err := v.Err(); err != nil {
		return Token{}, "", err
	}
	if expErr != nil {
		return Token{}, "", expErr
	}
	t := Token{
		ID: uuid.Must(uuid.NewV7()).String(), TenantID: p.GetTenantId(), UserID: p.GetUserId(), Kind: TokenNormal,
		CreatedBy: p.GetUserId(), Name: in.Name, Description: in.Description, RequestID: in.RequestID, ExpiresAt: exp,
	}
	if in.CreatedFor != "" && in.CreatedFor != p.GetUserId() {
		if err := a.mayImpersonate(ctx, p, in.CreatedFor); err != nil {
			return Token{}, "", err
		}
		t.UserID, t.Kind = in.CreatedFor, TokenImpersonated
	}
	value, hash := NewTokenValue()
	t.Hash = hash
	if err := a.store.CreateToken(ctx, t); err != nil {
		if errs.IsKind(err, errs.KindAlreadyExists) && in.RequestID != "" {
			// A retry: the first call's value was shown once and is gone, so the
			// retry gets a fresh value for the same token rather than a second token.
			return a.rotateByRequest(ctx, p, in.RequestID)
		}
		return Token{}, "", err
	}
	saved, err := a.store.GetToken(ctx, t.TenantID, t.ID)
	return saved, value, err
}

func (a *App) rotateByRequest(ctx context.Context, p *commonpb.Principal, requestID string) (Token, string, error) {
	t, err := a.store.TokenByRequest(ctx, p.GetTenantId(), p.GetUserId(), requestID)
	if err != nil {
		return Token{}, "", err
	}
	return a.RotateAccessToken(ctx, t.ID)
}

// mayImpersonate checks that p may make tokens acting as the target user: the
// impersonation and a user-management permission, scope over every account of the
// target, and no impersonation of tenant-wide users by a caller who is not.
func (a *App) mayImpersonate(ctx context.Context, p *commonpb.Principal, targetID string) error {
	if !privileged(p) {
		return errs.PermissionDenied(string(authz.TokensImpersonate))
	}
	target, err := a.store.GetUser(ctx, p.GetTenantId(), targetID)
	if errs.IsKind(err, errs.KindNotFound) {
		return errs.Invalid("access_token.created_for", "user %q does not exist", targetID)
	}
	if err != nil {
		return err
	}
	roles, err := a.roles(ctx, p.GetTenantId())
	if err != nil {
		return err
	}
	for _, m := range target.Memberships {
		if !authz.CanActFor(p, m.AccountID) {
			return errs.Invalid("access_token.created_for", "user %q does not exist", targetID)
		}
		for _, r := range m.Roles {
			if roles[r].TenantWide && !p.GetTenantWide() {
				return errs.PermissionDenied(string(authz.TokensImpersonate))
			}
		}
	}
	if target.Status != UserActive {
		return errs.FailedPrecondition("USER_INACTIVE", "user %s is inactive", targetID)
	}
	return nil
}

// canManage reports whether p may see and change t.
func (a *App) canManage(ctx context.Context, p *commonpb.Principal, t Token) bool {
	if t.CreatedBy == p.GetUserId() || (t.Kind == TokenNormal && t.UserID == p.GetUserId()) {
		return true
	}
	return privileged(p) && a.mayImpersonate(ctx, p, t.UserID) == nil
}

// managedToken loads a token the caller may manage (NotFound otherwise).
func (a *App) managedToken(ctx context.Context, id string) (*commonpb.Principal, Token, error) {
	p, err := callerUser(ctx)
	if err != nil {
		return nil, Token{}, err
	}
	t, err := a.store.GetToken(ctx, p.GetTenantId(), id)
	if err != nil || t.Kind == TokenSession || !a.canManage(ctx, p, t) {
		return nil, Token{}, errs.NotFound("access token", id)
	}
	return p, t, nil
}

// GetAccessToken reads a token the caller may manage.
func (a *App) GetAccessToken(ctx context.Context, id string) (Token, error) {
	_, t, err := a.managedToken(ctx, id)
	return t, err
}

// ListAccessTokens pages through the tokens the caller may manage: NORMAL ones by
// default, like the console; kind "impersonated" or "all" on request.
func (a *App) ListAccessTokens(ctx context.Context, kind string, pageSize int, pageToken string) ([]Token, string, error) {
	p, err := callerUser(ctx)
	if err != nil {
		return nil, "", err
	}
	kinds := map[string][]string{"": {TokenNormal}, TokenNormal: {TokenNormal}, TokenImpersonated: {TokenImpersonated}, "all": {TokenNormal, TokenImpersonated}}[kind]
	if kinds == nil {
		return nil, "", errs.Invalid("filter", `must be "type = NORMAL", "type = IMPERSONATED" or "type = ALL"`)
	}
	pageSize, after, err := page(pageSize, pageToken)
	if err != nil {
		return nil, "", err
	}
	f := TokenFilter{Kinds: kinds}
	switch {
	case privileged(p) && p.GetTenantWide():
	case privileged(p):
		f.Mine, f.Accounts = p.GetUserId(), p.GetAccountIds()
	default:
		f.Mine = p.GetUserId()
	}
	list, err := a.store.ListTokens(ctx, p.GetTenantId(), f, after, pageSize+1)
	if err != nil {
		return nil, "", err
	}
	if len(list) > pageSize {
		return list[:pageSize], nextPage(list[pageSize-1].ID), nil
	}
	return list, "", nil
}

// TokenUpdate says what UpdateAccessToken changes.
type TokenUpdate struct {
	Name, Description, ExpiresIn *string
}

// UpdateAccessToken changes a token's name, description or expiry; not its user or
// type, and not once it has expired.
func (a *App) UpdateAccessToken(ctx context.Context, id string, u TokenUpdate) (Token, error) {
	p, _, err := a.managedToken(ctx, id)
	if err != nil {
		return Token{}, err
	}
	now := a.now()
	var v errs.Violations
	if u.Name != nil {
		if reason := TokenNameProblem(*u.Name); reason != "" {
			v.Add("access_token.display_name", "%s", reason)
		}
	}
	if u.Description != nil && len(*u.Description) > 1000 {
		v.Add("access_token.description", "must be at most 1000 characters")
	}
	if u.Name == nil && u.Description == nil && u.ExpiresIn == nil {
		v.Add("update_mask", "names nothing to change (display_name, description, expires_in)")
	}
	if err := v.Err(); err != nil {
		return Token{}, err
	}
	var exp time.Time
	if u.ExpiresIn != nil {
		if exp, err = tokenLifetime("expires_in", *u.ExpiresIn, now); err != nil {
			return Token{}, err
		}
	}
	return a.store.UpdateToken(ctx, p.GetTenantId(), id, func(t *Token) error {
		if !now.Before(t.ExpiresAt) {
			return errs.FailedPrecondition("TOKEN_EXPIRED", "expired tokens cannot be edited")
		}
		if u.Name != nil {
			t.Name = *u.Name
		}
		if u.Description != nil {
			t.Description = *u.Description
		}
		if u.ExpiresIn != nil {
			t.ExpiresAt = exp
		}
		return nil
	})
}

// RotateAccessToken gives a token a new value; its expiry and every other property
// stay. The old value stops working at once.
func (a *App) RotateAccessToken(ctx context.Context, id string) (Token, string, error) {
	p, _, err := a.managedToken(ctx, id)
	if err != nil {
		return Token{}, "", err
	}
	value, hash := NewTokenValue()
	now := a.now()
	t, err := a.store.UpdateToken(ctx, p.GetTenantId(), id, func(t *Token) error {
		if !now.Before(t.ExpiresAt) {
			return errs.FailedPrecondition("TOKEN_EXPIRED", "expired tokens cannot be rotated")
		}
		t.Hash = hash
		return nil
	})
	if err != nil {
		return Token{}, "", err
	}
	return t, value, nil
}

// DeleteAccessToken removes a token; it stops working at once.
func (a *App) DeleteAccessToken(ctx context.Context, id string) error {
	p, _, err := a.managedToken(ctx, id)
	if err != nil {
		return err
	}
	return a.store.DeleteToken(ctx, p.GetTenantId(), id)
}

// tokenKinds lists the kinds a filter value may name.
var tokenKinds = []string{TokenNormal, TokenImpersonated, "all"}

// ParseTokenFilter reads "type = NORMAL|IMPERSONATED|ALL" (or "").
func ParseTokenFilter(filter string) (string, error) {
	f := strings.TrimSpace(filter)
	if f == "" {
		return "", nil
	}
	field, value, ok := strings.Cut(f, "=")
	kind := strings.ToLower(strings.Trim(strings.TrimSpace(value), `"`))
	if !ok || strings.TrimSpace(field) != "type" || !slices.Contains(tokenKinds, kind) {
		return "", errs.Invalid("filter", `must be "type = NORMAL", "type = IMPERSONATED" or "type = ALL"`)
	}
	return kind, nil
}
