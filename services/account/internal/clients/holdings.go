// Package clients adapts neighbour services' gRPC clients to the interfaces the
// account use cases declare.
package clients

import (
	"context"

	devicepb "github.com/tessera-dev/tessera/gen/tessera/device/v1"
	entitlementpb "github.com/tessera-dev/tessera/gen/tessera/entitlement/v1"
)

// Holdings counts entitlements and devices in their services.
type Holdings struct {
	Ent entitlementpb.EntitlementServiceClient
	Dev devicepb.DeviceServiceClient
}

// Entitlements implements app.Holdings.
func (h Holdings) Entitlements(ctx context.Context, accountIDs []string) (int64, error) {
	r, err := h.Ent.CountAccountEntitlements(ctx, &entitlementpb.CountAccountEntitlementsRequest{AccountIds: accountIDs})
	return r.GetEntitlements(), err
}

// Devices implements app.Holdings.
func (h Holdings) Devices(ctx context.Context, accountIDs []string) (int64, error) {
	r, err := h.Dev.CountAccountDevices(ctx, &devicepb.CountAccountDevicesRequest{AccountIds: accountIDs})
	return r.GetDevices(), err
}
