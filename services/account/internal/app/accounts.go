package app

import (
	"context"
	"slices"

	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/ids"
)

var accountTypes = []string{AccountCustomer, AccountPartner, AccountSelfRegistered}

// CreateAccount validates and stores a customer, partner or self-registered account.
func (a *App) CreateAccount(ctx context.Context, acc Account) (Account, error) {
	var v errs.Violations
	if acc.ID == "" {
		acc.ID = ids.ForRequest(authz.MustTenant(ctx), "ACC", acc.RequestID)
	} else if !ids.ValidResourceID(acc.ID) {
		v.Add("account_id", "must be 1-64 letters, digits, '.', '_' or '-'")
	}
	v.Require("account.display_name", acc.DisplayName)
	if !slices.Contains(accountTypes, acc.Type) {
		v.Add("account.type", "must be CUSTOMER, PARTNER or SELF_REGISTERED")
	}
	if len(acc.DisplayName) > 200 {
		v.Add("account.display_name", "must be at most 200 characters")
	}
	if err := v.Err(); err != nil {
		return Account{}, err
	}
	return a.store.CreateAccount(ctx, authz.MustTenant(ctx), acc)
}

// GetAccount reads an account the caller may see.
func (a *App) GetAccount(ctx context.Context, id string) (Account, error) {
	if err := canSeeAccount(ctx, id); err != nil {
		return Account{}, err
	}
	return a.store.GetAccount(ctx, authz.MustTenant(ctx), id)
}

// ListAccounts pages through the accounts the caller may see, ordered by ID.
func (a *App) ListAccounts(ctx context.Context, pageSize int, pageToken string) ([]Account, string, error) {
	pageSize, after, err := page(pageSize, pageToken)
	if err != nil {
		return nil, "", err
	}
	p, _ := authz.FromContext(ctx)
	var only []string
	if !p.GetTenantWide() {
		only = p.GetAccountIds()
	}
	list, err := a.store.ListAccounts(ctx, p.GetTenantId(), only, after, pageSize+1)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(list) > pageSize {
		list = list[:pageSize]
		next = nextPage(list[pageSize-1].ID)
	}
	return list, next, nil
}
