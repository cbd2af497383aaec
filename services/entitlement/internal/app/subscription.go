package app

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/errs"
)

// subscriptionPrefix starts every subscription token.
const subscriptionPrefix = "sub_"

func hashSubscription(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// CreateSubscriptionToken makes (or replaces) the account's subscription token
// (SPEC ENT-11) and returns its value, which is not kept.
func (a *App) CreateSubscriptionToken(ctx context.Context, accountID string) (string, error) {
	if err := a.subscriptionAccount(ctx, accountID); err != nil {
		return "", err
	}
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	token := subscriptionPrefix + hex.EncodeToString(b)
	p, _ := authz.FromContext(ctx)
	return token, a.store.SetSubscriptionToken(ctx, p.GetTenantId(), accountID, hashSubscription(token), p.GetUserId())
}

// RevokeSubscriptionToken removes the account's subscription token.
func (a *App) RevokeSubscriptionToken(ctx context.Context, accountID string) error {
	if err := a.subscriptionAccount(ctx, accountID); err != nil {
		return err
	}
	return a.store.RevokeSubscriptionToken(ctx, authz.MustTenant(ctx), accountID)
}

// subscriptionAccount checks that the account exists and the caller acts for it.
func (a *App) subscriptionAccount(ctx context.Context, accountID string) error {
	if accountID == "" {
		return errs.Invalid("account", "is required")
	}
	p, _ := authz.FromContext(ctx)
	if !authz.CanActFor(p, accountID) {
		return errs.NotFound("account", accountID)
	}
	ok, err := a.accounts.AccountExists(ctx, accountID)
	if err != nil {
		return err
	}
	if !ok {
		return errs.NotFound("account", accountID)
	}
	return nil
}

// Subscription is what an appliance pulls: an account's usable line items and the
// soonest expiry among them.
type Subscription struct {
	AccountID      string
	LineItems      []LineItem
	NextExpireTime *time.Time
}

var errBadSubscription = errs.Unauthenticated("SUBSCRIPTION_TOKEN_INVALID", "the subscription token is not valid")

// PullSubscription answers an appliance presenting a subscription token.
func (a *App) PullSubscription(ctx context.Context, tenant, token string) (Subscription, error) {
	if tenant == "" || !strings.HasPrefix(token, subscriptionPrefix) {
		return Subscription{}, errBadSubscription
	}
	accountID, err := a.store.SubscriptionAccount(ctx, tenant, hashSubscription(token))
	if errs.IsKind(err, errs.KindNotFound) {
		return Subscription{}, errBadSubscription
	}
	if err != nil {
		return Subscription{}, err
	}
	items, err := a.store.UsableLineItems(ctx, tenant, accountID, a.now())
	if err != nil {
		return Subscription{}, err
	}
	out := Subscription{AccountID: accountID, LineItems: items}
	for _, li := range items {
		if li.ExpireTime != nil && (out.NextExpireTime == nil || li.ExpireTime.Before(*out.NextExpireTime)) {
			out.NextExpireTime = li.ExpireTime
		}
	}
	return out, nil
}
