package app

import (
	"context"
	"fmt"
	"slices"
	"time"

	commonpb "github.com/tessera-dev/tessera/gen/tessera/common/v1"
	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/ids"
)

// Trial is what users may register for themselves under a part number.
type Trial struct {
	PartNumber, DisplayName, ProductID, LicenseModelID string
	Quantity                                           int64
	DurationDays                                       int
	CreateTime                                         time.Time
}

// CreateTrial validates and stores a trial offer.
func (a *App) CreateTrial(ctx context.Context, t Trial) (Trial, error) {
	tenant := authz.MustTenant(ctx)
	var v errs.Violations
	if !ids.ValidResourceID(t.PartNumber) {
		v.Add("trial.part_number", "must be 1-64 letters, digits, '.', '_' or '-'")
	}
	v.Require("trial.display_name", t.DisplayName)
	v.Require("trial.product", t.ProductID)
	v.Require("trial.license_model", t.LicenseModelID)
	if t.Quantity <= 0 || t.Quantity > 1_000_000 {
		v.Add("trial.quantity", "must be between 1 and 1000000")
	}
	if t.DurationDays < 1 || t.DurationDays > 366 {
		v.Add("trial.duration_days", "must be between 1 and 366")
	}
	if err := v.Err(); err != nil {
		return Trial{}, err
	}
	p, err := a.store.GetProduct(ctx, tenant, t.ProductID)
	if errs.IsKind(err, errs.KindNotFound) {
		return Trial{}, errs.Invalid("trial.product", "product %q does not exist", t.ProductID)
	}
	if err != nil {
		return Trial{}, err
	}
	if !slices.Contains(p.LicenseModelIDs, t.LicenseModelID) {
		return Trial{}, errs.Invalid("trial.license_model", "product %q is not sold under license model %q", t.ProductID, t.LicenseModelID)
	}
	return a.store.CreateTrial(ctx, tenant, t)
}

// trialUser is the signed-in user registering; trials are personal.
func trialUser(ctx context.Context) (string, error) {
	p, _ := authz.FromContext(ctx)
	if p.GetUserId() == "" || p.GetKind() != commonpb.PrincipalKind_PRINCIPAL_KIND_USER {
		return "", errs.PermissionDenied(string(authz.TrialsRegister))
	}
	return p.GetUserId(), nil
}

// ListAvailableTrials lists the trials the caller has not registered for.
func (a *App) ListAvailableTrials(ctx context.Context) ([]Trial, error) {
	user, err := trialUser(ctx)
	if err != nil {
		return nil, err
	}
	return a.store.AvailableTrials(ctx, authz.MustTenant(ctx), user)
}

// RegisterTrials registers the caller for the trials for one of their accounts, all
// or none: each becomes an entitlement expiring after the trial's duration. The
// store's unique registration per user and part number makes a repeat fail instead
// of handing out a second trial.
func (a *App) RegisterTrials(ctx context.Context, partNumbers []string, accountID string) ([]Entitlement, error) {
	user, err := trialUser(ctx)
	if err != nil {
		return nil, err
	}
	var v errs.Violations
	v.Require("account", accountID)
	if len(partNumbers) == 0 {
		v.Add("part_numbers", "pick at least one trial")
	}
	for i, pn := range partNumbers {
		if slices.Contains(partNumbers[:i], pn) {
			v.Add(fmt.Sprintf("part_numbers[%d]", i), "%q is listed twice", pn)
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	p, _ := authz.FromContext(ctx)
	if !authz.CanActFor(p, accountID) {
		return nil, errs.Invalid("account", "is not one of your accounts")
	}
	tenant := p.GetTenantId()
	available, err := a.store.AvailableTrials(ctx, tenant, user)
	if err != nil {
		return nil, err
	}
	now := a.now()
	ents := make([]Entitlement, 0, len(partNumbers))
	for i, pn := range partNumbers {
		j := slices.IndexFunc(available, func(t Trial) bool { return t.PartNumber == pn })
		if j < 0 {
			return nil, errs.Invalid(fmt.Sprintf("part_numbers[%d]", i), "%q is not a trial you can register for", pn)
		}
		t := available[j]
		end := now.AddDate(0, 0, t.DurationDays)
		ents = append(ents, Entitlement{
			ID: ids.New("ENT", 3), AccountID: accountID, OrderID: ids.New("TRIAL", 3), Origin: OriginTrial,
			LineItems: []LineItem{{
				ActivationID: ids.New("ACT", 4), ProductID: t.ProductID, LicenseModelID: t.LicenseModelID, State: StateDeployed,
				OrderLine: "1", Quantity: t.Quantity, StartTime: &now, ExpireTime: &end,
			}},
		})
	}
	if err := a.store.RegisterTrials(ctx, tenant, user, accountID, partNumbers, ents); err != nil {
		return nil, err
	}
	for i := range ents {
		if ents[i], err = a.store.GetEntitlement(ctx, tenant, ents[i].ID); err != nil {
			return nil, err
		}
	}
	return ents, nil
}
