package app

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/duration"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/ids"
)

// WebRegisterKey is one key of a bulk entitlement.
type WebRegisterKey struct {
	Key, RedeemedBy string
	RedeemTime      *time.Time
}

// BulkEntitlement is one product sold through retailers as web register keys.
type BulkEntitlement struct {
	ID, ProductID, LicenseModelID, ExpireAfter, Retailer, RequestID string
	QuantityPerKey                                                  int64
	Keys                                                            []WebRegisterKey
	CreateTime                                                      time.Time
	// SplitFrom is the bulk entitlement this one's keys came from.
	SplitFrom string
}

// Redeemed counts the keys redeemed.
func (b BulkEntitlement) Redeemed() int64 {
	var n int64
	for _, k := range b.Keys {
		if k.RedeemedBy != "" {
			n++
		}
	}
	return n
}

// WebRegisterKeyPrefix starts every web register key.
const WebRegisterKeyPrefix = "WRK-"

// maxKeys bounds one bulk entitlement.
const maxKeys = 10_000

// CreateBulkEntitlement makes a bulk entitlement with keyCount fresh web register
// keys (SPEC ENT-6); a retried request ID returns the first one.
func (a *App) CreateBulkEntitlement(ctx context.Context, b BulkEntitlement, keyCount int) (BulkEntitlement, error) {
	tenant := authz.MustTenant(ctx)
	var v errs.Violations
	b.ID = ids.Resolve(&v, "bulk_entitlement_id", tenant, "BULK", b.ID, b.RequestID)
	v.Require("bulk_entitlement.product", b.ProductID)
	v.Require("bulk_entitlement.license_model", b.LicenseModelID)
	if b.QuantityPerKey <= 0 || b.QuantityPerKey > 1_000_000 {
		v.Add("bulk_entitlement.quantity_per_key", "must be between 1 and 1000000")
	}
	if b.ExpireAfter != "" {
		if _, err := duration.Parse(b.ExpireAfter); err != nil {
			v.Add("bulk_entitlement.expire_after", "%v", err)
		}
	}
	if keyCount < 1 || keyCount > maxKeys {
		v.Add("key_count", "must be between 1 and %d", maxKeys)
	}
	if err := v.Err(); err != nil {
		return BulkEntitlement{}, err
	}
	p, err := a.store.GetProduct(ctx, tenant, b.ProductID)
	if errs.IsKind(err, errs.KindNotFound) {
		return BulkEntitlement{}, errs.Invalid("bulk_entitlement.product", "product %q does not exist", b.ProductID)
	}
	if err != nil {
		return BulkEntitlement{}, err
	}
	if !slices.Contains(p.LicenseModelIDs, b.LicenseModelID) {
		return BulkEntitlement{}, errs.Invalid("bulk_entitlement.license_model", "product %q is not sold under license model %q", b.ProductID, b.LicenseModelID)
	}
	if b.Retailer != "" {
		ok, err := a.accounts.AccountExists(ctx, b.Retailer)
		if err != nil {
			return BulkEntitlement{}, err
		}
		if !ok {
			return BulkEntitlement{}, errs.Invalid("bulk_entitlement.retailer", "account %q does not exist", b.Retailer)
		}
	}
	for range keyCount {
		b.Keys = append(b.Keys, WebRegisterKey{Key: ids.New(strings.TrimSuffix(WebRegisterKeyPrefix, "-"), 4)})
	}
	return a.store.CreateBulkEntitlement(ctx, tenant, b)
}

// GetBulkEntitlement reads a bulk entitlement with its keys.
func (a *App) GetBulkEntitlement(ctx context.Context, id string) (BulkEntitlement, error) {
	return a.store.GetBulkEntitlement(ctx, authz.MustTenant(ctx), id)
}

// RedeemWebRegisterKey turns a key into the simple entitlement "<key>ENT" of the
// account (one line item of the bulk's product, starting now), recording the bulk it
// came from. Redeeming again for the same account returns it; another account is
// refused.
func (a *App) RedeemWebRegisterKey(ctx context.Context, key, accountID string) (Entitlement, error) {
	var v errs.Violations
	v.Require("key", key)
	v.Require("account", accountID)
	if err := v.Err(); err != nil {
		return Entitlement{}, err
	}
	p, _ := authz.FromContext(ctx)
	if !authz.CanActFor(p, accountID) {
		return Entitlement{}, errs.NotFound("account", accountID)
	}
	tenant := p.GetTenantId()
	bulk, err := a.store.BulkForKey(ctx, tenant, key)
	if errs.IsKind(err, errs.KindNotFound) {
		return Entitlement{}, errs.Invalid("key", "is not a web register key")
	}
	if err != nil {
		return Entitlement{}, err
	}
	now := a.now()
	li := LineItem{
		ActivationID: ids.New("ACT", 4), ProductID: bulk.ProductID, LicenseModelID: bulk.LicenseModelID, State: StateDeployed,
		OrderLine: "1", Quantity: bulk.QuantityPerKey, StartTime: &now, ExpireAfter: bulk.ExpireAfter,
		ExpireTime: duration.TermEnd(bulk.ExpireAfter, now),
	}
	e := Entitlement{ID: key + "ENT", AccountID: accountID, OrderID: key, Origin: OriginBulk, BulkID: bulk.ID, LineItems: []LineItem{li}}
	return a.store.RedeemWebRegisterKey(ctx, tenant, key, e)
}

// SplitBulkEntitlement moves keyCount unredeemed keys of a bulk entitlement to a new
// bulk entitlement of another retailer, like the source but for its keys (SPEC
// ENT-8). The keys keep their values, so keys already handed out stay good; a retried
// request ID returns the first split.
func (a *App) SplitBulkEntitlement(ctx context.Context, id, toRetailer string, keyCount int, requestID string) (BulkEntitlement, error) {
	tenant := authz.MustTenant(ctx)
	var v errs.Violations
	v.Require("to_retailer", toRetailer)
	if keyCount < 1 || keyCount > maxKeys {
		v.Add("key_count", "must be between 1 and %d", maxKeys)
	}
	if err := v.Err(); err != nil {
		return BulkEntitlement{}, err
	}
	ok, err := a.accounts.AccountExists(ctx, toRetailer)
	if err != nil {
		return BulkEntitlement{}, err
	}
	if !ok {
		return BulkEntitlement{}, errs.Invalid("to_retailer", "account %q does not exist", toRetailer)
	}
	if requestID == "" {
		requestID = ids.New("SPLIT", 3)
	}
	return a.store.SplitBulkEntitlement(ctx, tenant, id, ids.ForRequest(tenant, "BULK", "split:"+requestID), toRetailer, keyCount, requestID)
}
