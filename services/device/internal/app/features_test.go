package app

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	commonpb "github.com/tessera-dev/tessera/gen/tessera/common/v1"
	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/errs"
)

// oneDevice is a store holding one device (the other methods are not called).
type oneDevice struct {
	Store
	d Device
}

func (s oneDevice) GetDevice(_ context.Context, _, id string) (Device, error) {
	if id != s.d.ID {
		return Device{}, errs.NotFound("device", id)
	}
	return s.d, nil
}

type countingCatalog struct {
	features map[string][]ProductFeature
	calls    map[string]int
}

func (c *countingCatalog) ProductFeatures(_ context.Context, id string) ([]ProductFeature, error) {
	c.calls[id]++
	return c.features[id], nil
}

func (c *countingCatalog) LineItemProduct(_ context.Context, activationID string) (string, error) {
	c.calls["li:"+activationID]++
	return "legacy", nil
}

// A device's features come from its live mappings: seats summed over line items,
// the earliest expiry (an override counts), products read once per request, and the
// line items the caller may not see left out of each feature's list (SPEC DEV-12).
func TestDeviceFeatures_DEV12(t *testing.T) {
	y2027 := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	y2026 := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	override := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	d := Device{ID: "box", AccountID: "OTHER", Mappings: []Mapping{
		{ActivationID: "ACT-ACME-1", AccountID: "ACME", ProductID: "cad", Quantity: 2, ConfiguredExpireAt: y2027},
		{ActivationID: "ACT-OTHER-1", AccountID: "OTHER", ProductID: "cad", Quantity: 3, ConfiguredExpireAt: y2026, ExpireAt: override},
		{ActivationID: "ACT-OLD", AccountID: "ACME", Quantity: 1}, // a row without its product: asked of the line item
	}}
	cat := &countingCatalog{calls: map[string]int{}, features: map[string][]ProductFeature{
		"cad":    {{Name: "solver", Version: "2"}, {Name: "cad", Version: "2"}},
		"legacy": {{Name: "cad", Version: "2"}},
	}}
	a := New(Deps{Store: oneDevice{d: d}, Products: cat})
	acme := authz.WithPrincipal(context.Background(), &commonpb.Principal{
		Kind: commonpb.PrincipalKind_PRINCIPAL_KIND_USER, TenantId: "t", AccountIds: []string{"ACME"}, MemberAccountIds: []string{"ACME"},
		Permissions: []string{string(authz.DevicesView)},
	})
	got, err := a.deviceFeatures(acme, "box")
	require.NoError(t, err)
	require.Equal(t, []DeviceFeature{
		{Name: "cad", Version: "2", Count: 6, ExpireTime: override, LineItems: []string{"ACT-ACME-1", "ACT-OLD"}},
		{Name: "solver", Version: "2", Count: 5, ExpireTime: override, LineItems: []string{"ACT-ACME-1"}},
	}, got)
	require.Equal(t, map[string]int{"cad": 1, "legacy": 1, "li:ACT-OLD": 1}, cat.calls, "each product once per request")

	stranger := authz.WithPrincipal(context.Background(), &commonpb.Principal{
		Kind: commonpb.PrincipalKind_PRINCIPAL_KIND_USER, TenantId: "t", AccountIds: []string{"NOBODY"}, MemberAccountIds: []string{"NOBODY"},
	})
	_, err = a.deviceFeatures(stranger, "box")
	require.True(t, errs.IsKind(err, errs.KindNotFound), "a device the caller does not see has no features for it: %v", err)

	page, next, err := a.ListDeviceFeatures(acme, "box", 1, "")
	require.NoError(t, err)
	require.Equal(t, "cad", page[0].Name)
	page, last, err := a.ListDeviceFeatures(acme, "box", 1, next)
	require.NoError(t, err)
	require.Equal(t, "solver", page[0].Name)
	require.Empty(t, last)
	_, _, err = a.ListDeviceFeatures(acme, "other-device", 1, next)
	require.True(t, errs.IsKind(err, errs.KindInvalid), "a token belongs to its device")
}
