package app

import (
	"context"
	"regexp"
	"unicode"

	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/ids"
)

var username = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@+-]{2,63}$`)

// passwordProblem returns why a password is refused, or "".
func passwordProblem(pw string) string {
	if len(pw) < 10 {
		return "must be at least 10 characters"
	}
	if len(pw) > 256 {
		return "must be at most 256 characters"
	}
	var letter, other bool
	for _, r := range pw {
		if unicode.IsLetter(r) {
			letter = true
		} else {
			other = true
		}
	}
	if !letter || !other {
		return "must mix letters with digits or symbols"
	}
	return ""
}

// CreateUser validates and stores a user with their memberships. The caller must be
// able to act for every account the user joins.
func (a *App) CreateUser(ctx context.Context, u User, password string) (User, error) {
	var v errs.Violations
	if !username.MatchString(u.Username) {
		v.Add("user.username", "must be 3-64 letters, digits or . _ @ + -, starting with a letter or digit")
	}
	checkProfile(&v, "user.", u)
	if password != "" {
		if reason := passwordProblem(password); reason != "" {
			v.Add("password", "%s", reason)
		}
	}
	if err := v.Err(); err != nil {
		return User{}, err
	}
	tenant := authz.MustTenant(ctx)
	userType, err := a.checkMemberships(ctx, "", u.Memberships)
	if err != nil {
		return User{}, err
	}
	u.Type = userType
	if err := a.checkProductLines(ctx, u.ProductLines); err != nil {
		return User{}, err
	}
	temporary := password == ""
	if temporary {
		password = GeneratePassword()
	}
	hash, err := HashPassword(a.cfg.Password, password)
	if err != nil {
		return User{}, err
	}
	u.ID = ids.ForRequest(tenant, "USR", u.RequestID)
	u.PasswordHash = hash
	u.Status = UserActive
	u.MustChangePassword = temporary
	created, err := a.store.CreateUser(ctx, tenant, u)
	if errs.IsKind(err, errs.KindAlreadyExists) {
		return User{}, errs.AlreadyExists("user", u.Username)
	}
	if err != nil {
		return User{}, err
	}
	if temporary && created.PasswordHash == hash { // not a retry that found the first user
		if err := a.mailTemporaryPassword(ctx, tenant, created, password, "Welcome to Tessera: a user has been created for you."); err != nil {
			return User{}, err
		}
	}
	return created, nil
}

// GetUser reads a user the caller may see: themself, or a user of an account the
// caller may act for.
func (a *App) GetUser(ctx context.Context, id string) (User, error) {
	p, _ := authz.FromContext(ctx)
	u, err := a.store.GetUser(ctx, p.GetTenantId(), id)
	if err != nil {
		return User{}, err
	}
	if p.GetUserId() == id || p.GetTenantWide() {
		return u, nil
	}
	for _, m := range u.Memberships {
		if authz.CanActFor(p, m.AccountID) {
			return u, nil
		}
	}
	return User{}, errs.NotFound("user", id)
}

// ReactivateUser makes an inactive user active again; the password stays, and the
// user (or, for a shared login, its accounts' administrators) is told by email.
func (a *App) ReactivateUser(ctx context.Context, id string) (User, error) {
	p, _ := authz.FromContext(ctx)
	u, err := a.store.GetUser(ctx, p.GetTenantId(), id)
	if err != nil {
		return User{}, err
	}
	for _, m := range u.Memberships {
		if !authz.CanActFor(p, m.AccountID) {
			return User{}, errs.NotFound("user", id)
		}
	}
	return a.store.Reactivate(ctx, p.GetTenantId(), id, p.GetUserId())
}
