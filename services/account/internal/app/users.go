package app

import (
	"context"
	"fmt"
	"net/mail"
	"regexp"
	"slices"
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
	v.Require("user.first_name", u.FirstName)
	v.Require("user.last_name", u.LastName)
	if _, err := mail.ParseAddress(u.Email); err != nil {
		v.Add("user.email", "is not an email address")
	}
	if password != "" {
		if reason := passwordProblem(password); reason != "" {
			v.Add("password", "%s", reason)
		}
	}
	if len(u.Memberships) == 0 {
		v.Add("user.memberships", "a user belongs to at least one account")
	}
	for i, m := range u.Memberships {
		if len(m.Roles) == 0 {
			v.Add(fmt.Sprintf("user.memberships[%d].roles", i), "at least one role is required")
		}
		for _, r := range m.Roles {
			if _, ok := authz.Roles[r]; !ok {
				v.Add(fmt.Sprintf("user.memberships[%d].roles", i), "unknown role %q", r)
			}
		}
	}
	if err := v.Err(); err != nil {
		return User{}, err
	}

	p, _ := authz.FromContext(ctx)
	tenant := p.GetTenantId()
	for i, m := range u.Memberships {
		if !authz.CanActFor(p, m.AccountID) {
			return User{}, errs.Invalid(fmt.Sprintf("user.memberships[%d].account", i), "account %q does not exist", m.AccountID)
		}
		acc, err := a.store.GetAccount(ctx, tenant, m.AccountID)
		if errs.IsKind(err, errs.KindNotFound) {
			return User{}, errs.Invalid(fmt.Sprintf("user.memberships[%d].account", i), "account %q does not exist", m.AccountID)
		}
		if err != nil {
			return User{}, err
		}
		// A producer role only makes sense in the producer's own account, and only
		// a tenant-wide caller may grant it.
		if slices.Contains(m.Roles, authz.RoleProducerAdmin.ID) && (acc.Type != AccountProducer || !p.GetTenantWide()) {
			return User{}, errs.Invalid(fmt.Sprintf("user.memberships[%d].roles", i), "role producer_admin is only granted in the producer account")
		}
		if i == 0 {
			u.Type = acc.Type
		} else if acc.Type != u.Type {
			return User{}, errs.Invalid("user.memberships", "a user's accounts must all be of one type")
		}
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
