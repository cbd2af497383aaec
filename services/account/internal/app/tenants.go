package app

import (
	"context"
	"net/mail"
	"regexp"

	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/ids"
)

var tenantID = regexp.MustCompile(`^[a-z][a-z0-9-]{1,39}$`)

// NewTenant is the input of CreateTenant.
type NewTenant struct {
	ID            string
	DisplayName   string
	AdminUsername string
	AdminEmail    string
	AdminPassword string
}

// CreatedTenant is the output of CreateTenant.
type CreatedTenant struct {
	Tenant        Tenant
	Home          Account
	Admin         User
	AdminPassword string // set only when generated
}

// HomeAccountID is the ID of every tenant's producer home account.
const HomeAccountID = "HOME"

// CreateTenant creates a producer tenant, its home account and its first
// administrator (role producer_admin).
func (a *App) CreateTenant(ctx context.Context, in NewTenant) (CreatedTenant, error) {
	var v errs.Violations
	if !tenantID.MatchString(in.ID) {
		v.Add("tenant_id", "must be 2-40 lower-case letters, digits or '-', starting with a letter")
	}
	v.Require("display_name", in.DisplayName)
	if !username.MatchString(in.AdminUsername) {
		v.Add("admin_username", "must be 3-64 letters, digits or . _ @ + -")
	}
	if _, err := mail.ParseAddress(in.AdminEmail); err != nil {
		v.Add("admin_email", "is not an email address")
	}
	generated := ""
	if in.AdminPassword == "" {
		generated = GeneratePassword()
		in.AdminPassword = generated
	} else if reason := passwordProblem(in.AdminPassword); reason != "" {
		v.Add("admin_password", "%s", reason)
	}
	if err := v.Err(); err != nil {
		return CreatedTenant{}, err
	}
	hash, err := HashPassword(a.cfg.Password, in.AdminPassword)
	if err != nil {
		return CreatedTenant{}, err
	}
	out := CreatedTenant{
		Tenant:        Tenant{ID: in.ID, DisplayName: in.DisplayName},
		Home:          Account{ID: HomeAccountID, DisplayName: in.DisplayName, Type: AccountProducer, VisibleToPartners: true},
		AdminPassword: generated,
	}
	out.Admin = User{
		ID: ids.New("USR", 3), Username: in.AdminUsername, FirstName: "Tenant", LastName: "Administrator",
		Email: in.AdminEmail, Type: AccountProducer, Status: UserActive, PasswordHash: hash, CanLogin: true,
		Memberships: []Membership{{AccountID: HomeAccountID, Roles: []string{authz.RoleProducerAdmin.ID}}},
	}
	created, err := a.store.CreateTenant(ctx, out.Tenant, out.Home, out.Admin)
	if err != nil {
		if errs.IsKind(err, errs.KindAlreadyExists) {
			return CreatedTenant{}, errs.AlreadyExists("tenant", in.ID)
		}
		return CreatedTenant{}, err
	}
	out.Tenant.CreateTime = created
	// The home account and the administrator as stored, with their real times.
	if out.Home, err = a.store.GetAccount(ctx, in.ID, HomeAccountID); err != nil {
		return CreatedTenant{}, err
	}
	if out.Admin, err = a.store.GetUser(ctx, in.ID, out.Admin.ID); err != nil {
		return CreatedTenant{}, err
	}
	return out, nil
}
