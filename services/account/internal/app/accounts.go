package app

import (
	"context"
	"net/mail"
	"slices"

	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/events"
	"github.com/tessera-dev/tessera/services/platform/filter"
	"github.com/tessera-dev/tessera/services/platform/ids"
)

var accountTypes = []string{AccountCustomer, AccountPartner, AccountSelfRegistered}

// CreateAccount validates and stores a customer, partner or self-registered account,
// optionally under a parent. Producers create accounts anywhere; partner users create
// customer and partner accounts under the partner accounts they manage (SPEC ACC-3).
func (a *App) CreateAccount(ctx context.Context, acc Account, parent string) (Account, error) {
	var v errs.Violations
	acc.ID = ids.Resolve(&v, "account_id", authz.MustTenant(ctx), "ACC", acc.ID, acc.RequestID)
	v.Require("account.display_name", acc.DisplayName)
	if !slices.Contains(accountTypes, acc.Type) {
		v.Add("account.type", "must be CUSTOMER, PARTNER or SELF_REGISTERED")
	}
	if len(acc.DisplayName) > 200 {
		v.Add("account.display_name", "must be at most 200 characters")
	}
	checkAccountContact(&v, acc)
	p, _ := authz.FromContext(ctx)
	if parent == "" && !p.GetTenantWide() {
		v.Add("parent", "partners create accounts under one of their partner accounts")
	}
	if err := v.Err(); err != nil {
		return Account{}, err
	}
	if parent != "" {
		par, err := a.GetAccount(ctx, parent)
		if errs.IsKind(err, errs.KindNotFound) {
			return Account{}, errs.Invalid("parent", "account %q does not exist", parent)
		}
		if err != nil {
			return Account{}, err
		}
		if !p.GetTenantWide() && (par.Type != AccountPartner || acc.Type == AccountSelfRegistered) {
			return Account{}, errs.Invalid("parent", "partners create customer or partner accounts under a partner account")
		}
		if parent == HomeAccountID {
			return Account{}, errs.Invalid("parent", "the producer home account has no sub-accounts")
		}
	}
	return a.store.CreateAccount(ctx, p.GetTenantId(), acc, parent)
}

// GetAccount reads an account the caller may see.
func (a *App) GetAccount(ctx context.Context, id string) (Account, error) {
	if err := canSeeAccount(ctx, id); err != nil {
		return Account{}, err
	}
	acc, err := a.store.GetAccount(ctx, authz.MustTenant(ctx), id)
	return withhold(ctx, acc), err
}

// ListAccounts pages through the accounts the caller may see (SPEC PLT-2).
func (a *App) ListAccounts(ctx context.Context, q filter.Query) ([]Account, string, error) {
	p, _ := authz.FromContext(ctx)
	var only []string
	if !p.GetTenantWide() {
		only = p.GetAccountIds()
	}
	if p.GetPartner() {
		// Accounts withheld from partners are left out of lists and searches, so
		// their names cannot be found by searching for them.
		hidden, err := a.store.HiddenFromPartners(ctx, p.GetTenantId(), only)
		if err != nil {
			return nil, "", err
		}
		only = slices.DeleteFunc(slices.Clone(only), func(id string) bool {
			return slices.Contains(hidden, id) && !slices.Contains(p.GetMemberAccountIds(), id)
		})
	}
	return a.store.ListAccounts(ctx, p.GetTenantId(), only, q)
}

// NameWithheld stands for the name of an account a partner may not see (SPEC ACC-3).
const NameWithheld = "Name Withheld"

// withheld reports whether the caller is a partner user who may not see acc's name.
func withheld(ctx context.Context, acc Account) bool {
	p, _ := authz.FromContext(ctx)
	return p.GetPartner() && !acc.VisibleToPartners && !slices.Contains(p.GetMemberAccountIds(), acc.ID)
}

// withhold masks an account that is not visible to partners when a partner user who
// is not its member looks at it: the ID stays, the name and details go.
func withhold(ctx context.Context, acc Account) Account {
	if !withheld(ctx, acc) {
		return acc
	}
	return Account{
		ID: acc.ID, DisplayName: NameWithheld, Type: acc.Type, VisibleToPartners: false,
		CreateTime: acc.CreateTime, UpdateTime: acc.UpdateTime,
	}
}

// ListUsers pages through the users the caller may see: every user of the tenant
// for tenant-wide callers, else the users of the caller's accounts.
func (a *App) ListUsers(ctx context.Context, q filter.Query) ([]User, string, error) {
	p, _ := authz.FromContext(ctx)
	var accounts []string
	if !p.GetTenantWide() {
		accounts = append([]string{}, p.GetAccountIds()...)
	}
	return a.store.ListUsers(ctx, p.GetTenantId(), accounts, q)
}

// ListAuditEvents pages through the tenant's audit trail of account changes.
func (a *App) ListAuditEvents(ctx context.Context, q filter.Query) ([]events.AuditEvent, string, error) {
	return a.store.ListAuditEvents(ctx, authz.MustTenant(ctx), q)
}

// AccountPatch holds the fields UpdateAccount changes; nil fields stay.
type AccountPatch struct {
	DisplayName, Description *string
	Address                  *Address
	VisibleToPartners        *bool
	Attributes               *map[string]string
	Company                  *string
	EmergencyContactEmail    *string
}

// UpdateAccount changes an account the caller may manage (SPEC ACC-1); its ID and
// type never change.
func (a *App) UpdateAccount(ctx context.Context, id string, patch AccountPatch) (Account, error) {
	if err := canSeeAccount(ctx, id); err != nil {
		return Account{}, err
	}
	acc, err := a.store.GetAccount(ctx, authz.MustTenant(ctx), id)
	if err != nil {
		return Account{}, err
	}
	if withheld(ctx, acc) {
		// A partner does not change what it may not even see the name of.
		return Account{}, errs.NotFound("account", id)
	}
	return a.store.UpdateAccount(ctx, authz.MustTenant(ctx), id, func(acc *Account) error {
		if patch.DisplayName != nil {
			acc.DisplayName = *patch.DisplayName
		}
		if patch.Description != nil {
			acc.Description = *patch.Description
		}
		if patch.Address != nil {
			acc.Address = *patch.Address
		}
		if patch.VisibleToPartners != nil {
			acc.VisibleToPartners = *patch.VisibleToPartners
		}
		if patch.Attributes != nil {
			acc.Attributes = *patch.Attributes
		}
		if patch.Company != nil {
			acc.Company = *patch.Company
		}
		if patch.EmergencyContactEmail != nil {
			acc.EmergencyContactEmail = *patch.EmergencyContactEmail
		}
		var v errs.Violations
		checkAccountContact(&v, *acc)
		v.Require("account.display_name", acc.DisplayName)
		if len(acc.DisplayName) > 200 {
			v.Add("account.display_name", "must be at most 200 characters")
		}
		return v.Err()
	})
}

// checkAccountContact validates the company and the emergency contact email.
func checkAccountContact(v *errs.Violations, acc Account) {
	if len(acc.Company) > 200 {
		v.Add("account.company", "must be at most 200 characters")
	}
	if acc.EmergencyContactEmail != "" {
		if _, err := mail.ParseAddress(acc.EmergencyContactEmail); err != nil {
			v.Add("account.emergency_contact_email", "is not an email address")
		}
	}
}

// BatchGetAccounts reads up to 1,000 accounts, leaving out those the caller may not
// see (and masking those withheld from partners).
func (a *App) BatchGetAccounts(ctx context.Context, ids []string) ([]Account, error) {
	if len(ids) > 1000 {
		return nil, errs.Invalid("names", "at most 1000 at a time")
	}
	p, _ := authz.FromContext(ctx)
	visible := slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return !authz.CanActFor(p, id) })
	list, err := a.store.GetAccounts(ctx, p.GetTenantId(), visible)
	for i := range list {
		list[i] = withhold(ctx, list[i])
	}
	return list, err
}
