// Package grpcapi is the entitlement service's thin gRPC layer: proto in, use case,
// proto out. Errors pass through unchanged; the server's interceptor maps them.
package grpcapi

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	commonpb "github.com/tessera-dev/tessera/gen/tessera/common/v1"
	entitlementpb "github.com/tessera-dev/tessera/gen/tessera/entitlement/v1"
	"github.com/tessera-dev/tessera/services/entitlement/internal/app"
	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/events"
	"github.com/tessera-dev/tessera/services/platform/grpcx"
)

// Permissions declares what every RPC needs.
var Permissions = grpcx.Permissions{
	entitlementpb.AuditService_ListAuditEvents_FullMethodName:                 authz.AuditView,
	entitlementpb.CatalogService_CreateLicenseModel_FullMethodName:            authz.CatalogManage,
	entitlementpb.CatalogService_GetLicenseModel_FullMethodName:               authz.CatalogView,
	entitlementpb.CatalogService_CreateProduct_FullMethodName:                 authz.CatalogManage,
	entitlementpb.CatalogService_GetProduct_FullMethodName:                    authz.CatalogView,
	entitlementpb.CatalogService_UpdateProduct_FullMethodName:                 authz.CatalogManage,
	entitlementpb.CatalogService_ListProducts_FullMethodName:                  authz.CatalogView,
	entitlementpb.CatalogService_CreateServicePlan_FullMethodName:             authz.CatalogManage,
	entitlementpb.CatalogService_CreateProductLine_FullMethodName:             authz.CatalogManage,
	entitlementpb.CatalogService_CreateTrial_FullMethodName:                   authz.CatalogManage,
	entitlementpb.EntitlementService_ListAvailableTrials_FullMethodName:       authz.TrialsRegister,
	entitlementpb.EntitlementService_RegisterTrials_FullMethodName:            authz.TrialsRegister,
	entitlementpb.CatalogService_GetProductLine_FullMethodName:                authz.CatalogView,
	entitlementpb.CatalogService_ListProductLines_FullMethodName:              authz.CatalogView,
	entitlementpb.CatalogService_ListLicenseModels_FullMethodName:             authz.CatalogView,
	entitlementpb.CatalogService_UpdateLicenseModel_FullMethodName:            authz.CatalogManage,
	entitlementpb.CatalogService_GetServicePlan_FullMethodName:                authz.CatalogView,
	entitlementpb.CatalogService_ListServicePlans_FullMethodName:              authz.CatalogView,
	entitlementpb.EntitlementService_AssignServicePlan_FullMethodName:         authz.ServicePlansAssign,
	entitlementpb.EntitlementService_CreateOrder_FullMethodName:               authz.OrdersIngest,
	entitlementpb.EntitlementService_BatchCreateOrders_FullMethodName:         authz.OrdersIngest,
	entitlementpb.EntitlementService_GetEntitlement_FullMethodName:            authz.EntitlementsView,
	entitlementpb.EntitlementService_GetLineItem_FullMethodName:               authz.EntitlementsView,
	entitlementpb.EntitlementService_ListLineItems_FullMethodName:             authz.EntitlementsView,
	entitlementpb.EntitlementService_ListEntitlements_FullMethodName:          authz.EntitlementsView,
	entitlementpb.EntitlementService_ListExpiringLineItems_FullMethodName:     authz.EntitlementsView,
	entitlementpb.EntitlementService_RequestRenewal_FullMethodName:            authz.EntitlementsView,
	entitlementpb.EntitlementService_GetEntitlementCertificate_FullMethodName: authz.EntitlementsView,
	entitlementpb.EntitlementService_EmailLineItem_FullMethodName:             authz.EntitlementsView,
	entitlementpb.EntitlementService_CreateSubscriptionToken_FullMethodName:   authz.SubscriptionTokensManage,
	entitlementpb.EntitlementService_RevokeSubscriptionToken_FullMethodName:   authz.SubscriptionTokensManage,
	entitlementpb.EntitlementService_PullSubscription_FullMethodName:          authz.Public,
	entitlementpb.EntitlementService_TransferLineItem_FullMethodName:          authz.EntitlementsTransfer,
	entitlementpb.EntitlementService_DecideTransfer_FullMethodName:            authz.TransfersApprove,
	entitlementpb.EntitlementService_DeployLineItem_FullMethodName:            authz.LineItemsManage,
	entitlementpb.EntitlementService_ObsoleteLineItem_FullMethodName:          authz.LineItemsManage,
	entitlementpb.EntitlementService_SplitLineItem_FullMethodName:             authz.EntitlementsSplit,
	entitlementpb.EntitlementService_CreateBulkEntitlement_FullMethodName:     authz.OrdersIngest,
	entitlementpb.EntitlementService_GetBulkEntitlement_FullMethodName:        authz.OrdersIngest,
	entitlementpb.EntitlementService_RedeemWebRegisterKey_FullMethodName:      authz.EntitlementsClaim,
	entitlementpb.EntitlementService_SplitBulkEntitlement_FullMethodName:      authz.OrdersIngest,
	entitlementpb.EntitlementService_ReserveSeats_FullMethodName:              authz.SeatsReserve,
	entitlementpb.EntitlementService_ConfirmSeats_FullMethodName:              authz.SeatsReserve,
	entitlementpb.EntitlementService_MoveSeats_FullMethodName:                 authz.SeatsReserve,
	entitlementpb.EntitlementService_BatchConfirmSeats_FullMethodName:         authz.SeatsReserve,
	entitlementpb.EntitlementService_BatchReserveSeats_FullMethodName:         authz.SeatsReserve,
	entitlementpb.EntitlementService_ReleaseSeats_FullMethodName:              authz.SeatsReserve,
	entitlementpb.EntitlementService_CheckProductAccess_FullMethodName:        authz.ProductsAccess,
	entitlementpb.EntitlementService_CountAccountEntitlements_FullMethodName:  authz.HoldingsCount,
	entitlementpb.EntitlementService_ResolveEntitlementKey_FullMethodName:     authz.KeysResolve,
	entitlementpb.EntitlementService_AssignEntitlementKey_FullMethodName:      authz.KeysResolve,
}

// Server implements the catalog and entitlement gRPC services.
type Server struct {
	entitlementpb.UnimplementedAuditServiceServer
	entitlementpb.UnimplementedCatalogServiceServer
	entitlementpb.UnimplementedEntitlementServiceServer
	app *app.App
}

// New returns the gRPC handlers over the use cases.
func New(a *app.App) *Server { return &Server{app: a} }

func ts(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }

func tsPtr(t *time.Time) *timestamppb.Timestamp {
	if t == nil {
		return nil
	}
	return timestamppb.New(*t)
}

func timePtr(t *timestamppb.Timestamp) *time.Time {
	if t == nil {
		return nil
	}
	v := t.AsTime()
	return &v
}

var modelTypes = map[entitlementpb.LicenseModelType]string{
	entitlementpb.LicenseModelType_LICENSE_MODEL_TYPE_NODELOCKED_UNCOUNTED: app.ModelNodelockedUncounted,
	entitlementpb.LicenseModelType_LICENSE_MODEL_TYPE_NODELOCKED_COUNTED:   app.ModelNodelockedCounted,
	entitlementpb.LicenseModelType_LICENSE_MODEL_TYPE_FLOATING_UNCOUNTED:   app.ModelFloatingUncounted,
	entitlementpb.LicenseModelType_LICENSE_MODEL_TYPE_FLOATING_COUNTED:     app.ModelFloatingCounted,
	entitlementpb.LicenseModelType_LICENSE_MODEL_TYPE_TRUSTED_CLIENT:       app.ModelTrustedClient,
	entitlementpb.LicenseModelType_LICENSE_MODEL_TYPE_TRUSTED_SERVER:       app.ModelTrustedServer,
	entitlementpb.LicenseModelType_LICENSE_MODEL_TYPE_EMBEDDED:             app.ModelEmbedded,
}

var technologies = map[entitlementpb.LicenseTechnology]string{
	entitlementpb.LicenseTechnology_LICENSE_TECHNOLOGY_CERTIFICATE:     "certificate",
	entitlementpb.LicenseTechnology_LICENSE_TECHNOLOGY_TRUSTED_STORAGE: "trusted_storage",
	entitlementpb.LicenseTechnology_LICENSE_TECHNOLOGY_EMBEDDED:        "embedded",
	entitlementpb.LicenseTechnology_LICENSE_TECHNOLOGY_CUSTOM:          "custom",
}

var states = map[string]entitlementpb.LineItemState{
	app.StateDraft:    entitlementpb.LineItemState_LINE_ITEM_STATE_DRAFT,
	app.StateDeployed: entitlementpb.LineItemState_LINE_ITEM_STATE_DEPLOYED,
	app.StateOnHold:   entitlementpb.LineItemState_LINE_ITEM_STATE_ON_HOLD,
	app.StateObsolete: entitlementpb.LineItemState_LINE_ITEM_STATE_OBSOLETE,
}

var reservationStates = map[string]entitlementpb.ReservationState{
	app.ReservationReserved:  entitlementpb.ReservationState_RESERVATION_STATE_RESERVED,
	app.ReservationConfirmed: entitlementpb.ReservationState_RESERVATION_STATE_CONFIRMED,
	app.ReservationReleased:  entitlementpb.ReservationState_RESERVATION_STATE_RELEASED,
	app.ReservationExpired:   entitlementpb.ReservationState_RESERVATION_STATE_EXPIRED,
	app.ReservationReplaced:  entitlementpb.ReservationState_RESERVATION_STATE_REPLACED,
}

func reverse[K comparable, V comparable](m map[K]V) map[V]K {
	out := make(map[V]K, len(m))
	for k, v := range m {
		out[v] = k
	}
	return out
}

var (
	modelTypesBack   = reverse(modelTypes)
	technologiesBack = reverse(technologies)
)

func prefixAll(prefix string, ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = prefix + id
	}
	return out
}

func fieldIndex(list string, i int) string { return fmt.Sprintf("%s[%d]", list, i) }

// ListAuditEvents implements AuditService.
func (s *Server) ListAuditEvents(ctx context.Context, req *commonpb.ListAuditEventsRequest) (*commonpb.ListAuditEventsResponse, error) {
	list, next, err := s.app.ListAuditEvents(ctx, events.QueryOf(req))
	if err != nil {
		return nil, err
	}
	return events.AuditPage(list, next), nil
}
