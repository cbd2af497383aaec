package grpcapi

import (
	"context"
	"strings"
	"time"

	entitlementpb "github.com/tessera-dev/tessera/gen/tessera/entitlement/v1"
	"github.com/tessera-dev/tessera/services/entitlement/internal/app"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/filter"
	"github.com/tessera-dev/tessera/services/platform/names"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func lineItemPB(li app.LineItem) *entitlementpb.LineItem {
	return &entitlementpb.LineItem{
		Name: "lineItems/" + li.ActivationID, ActivationId: li.ActivationID, Entitlement: "entitlements/" + li.EntitlementID,
		Product: "products/" + li.ProductID, LicenseModel: "licenseModels/" + li.LicenseModelID, State: states[li.State],
		Quantity: li.Quantity, Fulfilled: li.Fulfilled, Available: li.Available(), OrderLine: li.OrderLine,
		StartTime: tsPtr(li.StartTime), ExpireTime: tsPtr(li.ExpireTime), Account: accountName(li.AccountID),
		ProductLine: productLineName(li.ProductLineID), StartAtFirstActivation: li.StartAtFirstActivation, ExpireAfter: li.ExpireAfter,
		MaintenanceExpireTime: tsPtr(li.MaintenanceExpireTime), VersionDate: tsPtr(li.VersionDate), VersionStartTime: tsPtr(li.VersionStartTime),
		Attributes: li.Attributes, Cancelled: li.Quantity == 0,
		ExtraActivations: li.ExtraActivations, OverdraftAllowed: li.OverdraftAllowed, Overdraft: li.Overdraft(),
		Type: lineTypes[li.Type], Supersedes: li.Supersedes, SupersededActivationIds: li.SupersededIDs, CreateTime: ts(li.CreateTime),
		TransferFrom: accountName(li.TransferFrom),
	}
}

func entitlementPB(e app.Entitlement) *entitlementpb.Entitlement {
	out := &entitlementpb.Entitlement{
		Name: "entitlements/" + e.ID, EntitlementId: e.ID, Account: accountName(e.AccountID), OrderId: e.OrderID,
		ShipToEmails: e.ShipToEmails, CreateTime: ts(e.CreateTime),
	}
	if e.ServicePlanID != "" {
		out.ServicePlan = "servicePlans/" + e.ServicePlanID
	}
	if e.BulkID != "" {
		out.BulkEntitlement = "bulkEntitlements/" + e.BulkID
	}
	for _, li := range e.LineItems {
		out.LineItems = append(out.LineItems, lineItemPB(li))
	}
	return out
}

// orderOf reads an order from its request; field names start with prefix.
func orderOf(req *entitlementpb.CreateOrderRequest, prefix string) (app.Order, error) {
	account, err := names.OptionalID(prefix+"sold_to", req.GetSoldTo(), "accounts")
	if err != nil {
		return app.Order{}, err
	}
	o := app.Order{OrderID: req.GetOrderId(), AccountID: account, ShipToEmails: req.GetShipToEmails()}
	for i, l := range req.GetLines() {
		product, err := names.OptionalID(prefix+fieldIndex("lines", i)+".product", l.GetProduct(), "products")
		if err != nil {
			return app.Order{}, err
		}
		model, err := names.OptionalID(prefix+fieldIndex("lines", i)+".license_model", l.GetLicenseModel(), "licenseModels")
		if err != nil {
			return app.Order{}, err
		}
		o.Lines = append(o.Lines, app.OrderLine{
			LineNumber: l.GetLineNumber(), ProductID: product, LicenseModelID: model, Quantity: l.GetQuantity(),
			StartTime: timePtr(l.GetStartTime()), ExpireTime: timePtr(l.GetExpireTime()),
			StartAtFirstActivation: l.GetStartAtFirstActivation(), ExpireAfter: l.GetExpireAfter(),
			MaintenanceExpireTime: timePtr(l.GetMaintenanceExpireTime()), VersionDate: timePtr(l.GetVersionDate()),
			VersionStartTime: timePtr(l.GetVersionStartTime()), Attributes: l.GetAttributes(),
			Type: lineTypesBack[l.GetType()], Draft: l.GetDraft(),
			// An activation ID, or the line item's resource name as the API answers it.
			Supersedes: strings.TrimPrefix(l.GetSupersedes(), "lineItems/"),
		})
	}
	return o, nil
}

// CreateOrder implements EntitlementService.
func (s *Server) CreateOrder(ctx context.Context, req *entitlementpb.CreateOrderRequest) (*entitlementpb.Entitlement, error) {
	o, err := orderOf(req, "")
	if err != nil {
		return nil, err
	}
	e, err := s.app.CreateOrder(ctx, o)
	if err != nil {
		return nil, err
	}
	return entitlementPB(e), nil
}

// BatchCreateOrders implements EntitlementService.
func (s *Server) BatchCreateOrders(ctx context.Context, req *entitlementpb.BatchCreateOrdersRequest) (*entitlementpb.BatchCreateOrdersResponse, error) {
	orders := make([]app.Order, 0, len(req.GetOrders()))
	for i, r := range req.GetOrders() {
		o, err := orderOf(r, fieldIndex("orders", i)+".")
		if err != nil {
			return nil, err
		}
		orders = append(orders, o)
	}
	ents, err := s.app.IngestOrders(ctx, orders)
	if err != nil {
		return nil, err
	}
	out := &entitlementpb.BatchCreateOrdersResponse{Entitlements: make([]*entitlementpb.Entitlement, len(ents))}
	for i, e := range ents {
		out.Entitlements[i] = entitlementPB(e)
	}
	return out, nil
}

// GetEntitlement implements EntitlementService.
func (s *Server) GetEntitlement(ctx context.Context, req *entitlementpb.GetEntitlementRequest) (*entitlementpb.Entitlement, error) {
	id, err := names.ID("name", req.GetName(), "entitlements")
	if err != nil {
		return nil, err
	}
	e, err := s.app.GetEntitlement(ctx, id)
	if err != nil {
		return nil, err
	}
	return entitlementPB(e), nil
}

// GetLineItem implements EntitlementService.
func (s *Server) GetLineItem(ctx context.Context, req *entitlementpb.GetLineItemRequest) (*entitlementpb.LineItem, error) {
	id, err := names.ID("name", req.GetName(), "lineItems")
	if err != nil {
		return nil, err
	}
	li, err := s.app.GetLineItem(ctx, id)
	if err != nil {
		return nil, err
	}
	return lineItemPB(li), nil
}

func reservationPB(r app.Reservation) *entitlementpb.Reservation {
	out := &entitlementpb.Reservation{
		ReservationId: r.ID.String(), ActivationId: r.ActivationID, Quantity: r.Quantity,
		State: reservationStates[r.State], Holder: r.Holder,
	}
	if r.AccountID != "" {
		out.Account = "accounts/" + r.AccountID
	}
	if r.State == app.ReservationReserved && !r.ExpireTime.IsZero() {
		out.ExpireTime = timestamppb.New(r.ExpireTime)
	}
	return out
}

// ReserveSeats implements EntitlementService.
func (s *Server) ReserveSeats(ctx context.Context, req *entitlementpb.ReserveSeatsRequest) (*entitlementpb.Reservation, error) {
	r, err := s.app.ReserveSeats(ctx, reserveInput(req))
	if err != nil {
		return nil, err
	}
	return reservationPB(r), nil
}

func reserveInput(req *entitlementpb.ReserveSeatsRequest) app.ReserveInput {
	return app.ReserveInput{
		ReservationID: req.GetReservationId(), ActivationID: req.GetActivationId(), Quantity: req.GetQuantity(), Holder: req.GetHolder(),
		AccountIDs: req.GetAccountIds(), TTL: req.GetTtl().AsDuration(), Start: optionalTime(req.GetStartTime()), Replaces: req.GetReplaces(),
	}
}

// BatchReserveSeats implements EntitlementService.
func (s *Server) BatchReserveSeats(ctx context.Context, req *entitlementpb.BatchReserveSeatsRequest) (*entitlementpb.BatchReserveSeatsResponse, error) {
	ins := make([]app.ReserveInput, len(req.GetReservations()))
	for i, r := range req.GetReservations() {
		ins[i] = reserveInput(r)
	}
	reserved, refused, err := s.app.BatchReserveSeats(ctx, ins)
	if err != nil {
		return nil, err
	}
	out := &entitlementpb.BatchReserveSeatsResponse{Outcomes: make([]*entitlementpb.ReservationOutcome, len(ins))}
	for i := range ins {
		if refused[i] != nil {
			f := errs.Flatten(ctx, refused[i])
			out.Outcomes[i] = &entitlementpb.ReservationOutcome{Error: &entitlementpb.BatchError{Code: int32(f.Code), Reason: f.Reason, Message: f.Message, Metadata: f.Metadata}}
		} else {
			out.Outcomes[i] = &entitlementpb.ReservationOutcome{Reservation: reservationPB(reserved[i])}
		}
	}
	return out, nil
}

// ConfirmSeats implements EntitlementService.
func (s *Server) ConfirmSeats(ctx context.Context, req *entitlementpb.ConfirmSeatsRequest) (*entitlementpb.Reservation, error) {
	r, err := s.app.ConfirmSeats(ctx, req.GetReservationId())
	if err != nil {
		return nil, err
	}
	return reservationPB(r), nil
}

// MoveSeats implements EntitlementService.
func (s *Server) MoveSeats(ctx context.Context, req *entitlementpb.MoveSeatsRequest) (*entitlementpb.MoveSeatsResponse, error) {
	to, err := names.ID("to_account", req.GetToAccount(), "accounts")
	if err != nil {
		return nil, err
	}
	li, err := s.app.MoveSeats(ctx, req.GetReservationId(), req.GetQuantity(), to, req.GetPool(), req.GetNewReservationId())
	if err != nil {
		return nil, err
	}
	return &entitlementpb.MoveSeatsResponse{LineItem: "lineItems/" + li.ActivationID, Account: "accounts/" + li.AccountID}, nil
}

// BatchConfirmSeats implements EntitlementService.
func (s *Server) BatchConfirmSeats(ctx context.Context, req *entitlementpb.BatchConfirmSeatsRequest) (*entitlementpb.BatchConfirmSeatsResponse, error) {
	results, err := s.app.BatchConfirmSeats(ctx, req.GetReservationIds())
	if err != nil {
		return nil, err
	}
	out := &entitlementpb.BatchConfirmSeatsResponse{Refused: map[string]string{}}
	for id, err := range results {
		if err == nil {
			out.Confirmed = append(out.Confirmed, id.String())
		} else {
			out.Refused[id.String()] = errs.Reason(err)
		}
	}
	return out, nil
}

// ReleaseSeats implements EntitlementService.
func (s *Server) ReleaseSeats(ctx context.Context, req *entitlementpb.ReleaseSeatsRequest) (*entitlementpb.Reservation, error) {
	r, err := s.app.ReleaseSeats(ctx, req.GetReservationId())
	if err != nil {
		return nil, err
	}
	return reservationPB(r), nil
}

// CheckProductAccess implements EntitlementService.
func (s *Server) CheckProductAccess(ctx context.Context, req *entitlementpb.CheckProductAccessRequest) (*entitlementpb.CheckProductAccessResponse, error) {
	product, err := names.ID("product", req.GetProduct(), "products")
	if err != nil {
		return nil, err
	}
	ok, err := s.app.CheckProductAccess(ctx, product, req.GetAccountIds())
	if err != nil {
		return nil, err
	}
	return &entitlementpb.CheckProductAccessResponse{Allowed: ok}, nil
}

// CountAccountEntitlements implements EntitlementService.
func (s *Server) CountAccountEntitlements(ctx context.Context, req *entitlementpb.CountAccountEntitlementsRequest) (*entitlementpb.CountAccountEntitlementsResponse, error) {
	n, err := s.app.CountAccountEntitlements(ctx, req.GetAccountIds())
	if err != nil {
		return nil, err
	}
	return &entitlementpb.CountAccountEntitlementsResponse{Entitlements: n}, nil
}

// accountName is the resource name of an owner, empty for nobody.
func accountName(id string) string {
	if id == "" {
		return ""
	}
	return "accounts/" + id
}

var keyKinds = map[entitlementpb.EntitlementKeyKind]string{
	entitlementpb.EntitlementKeyKind_ENTITLEMENT_KEY_KIND_ENTITLEMENT_ID: app.KeyEntitlementID,
	entitlementpb.EntitlementKeyKind_ENTITLEMENT_KEY_KIND_ACTIVATION_ID:  app.KeyActivationID,
	entitlementpb.EntitlementKeyKind_ENTITLEMENT_KEY_KIND_ORDER_ID:       app.KeyOrderID,
}

func keyPB(k app.EntitlementKey) *entitlementpb.EntitlementKey {
	out := &entitlementpb.EntitlementKey{
		Key: k.Key, Entitlement: "entitlements/" + k.EntitlementID, ActivationId: k.ActivationID, Account: accountName(k.AccountID),
	}
	for pb, kind := range keyKinds {
		if kind == k.Kind {
			out.Kind = pb
		}
	}
	return out
}

// ResolveEntitlementKey implements EntitlementService.
func (s *Server) ResolveEntitlementKey(ctx context.Context, req *entitlementpb.ResolveEntitlementKeyRequest) (*entitlementpb.EntitlementKey, error) {
	kinds := make([]string, 0, len(req.GetKinds()))
	for i, pb := range req.GetKinds() {
		kind, ok := keyKinds[pb]
		if !ok {
			return nil, errs.Invalid(fieldIndex("kinds", i), "unknown kind %v", pb)
		}
		kinds = append(kinds, kind)
	}
	k, err := s.app.ResolveKey(ctx, req.GetKey(), kinds)
	if err != nil {
		return nil, err
	}
	return keyPB(k), nil
}

// AssignEntitlementKey implements EntitlementService.
func (s *Server) AssignEntitlementKey(ctx context.Context, req *entitlementpb.AssignEntitlementKeyRequest) (*entitlementpb.EntitlementKey, error) {
	account, err := names.ID("account", req.GetAccount(), "accounts")
	if err != nil {
		return nil, err
	}
	k, err := s.app.AssignKey(ctx, req.GetKey(), account)
	if err != nil {
		return nil, err
	}
	return keyPB(k), nil
}

// AssignServicePlan implements EntitlementService.
func (s *Server) AssignServicePlan(ctx context.Context, req *entitlementpb.AssignServicePlanRequest) (*entitlementpb.Entitlement, error) {
	plan, err := names.ID("service_plan", req.GetServicePlan(), "servicePlans")
	if err != nil {
		return nil, err
	}
	account, err := names.ID("account", req.GetAccount(), "accounts")
	if err != nil {
		return nil, err
	}
	e, err := s.app.AssignServicePlan(ctx, app.PlanAssignment{
		ServicePlanID: plan, AccountID: account, Units: req.GetUnits(), StartTime: timePtr(req.GetStartTime()), RequestID: req.GetRequestId(),
	})
	if err != nil {
		return nil, err
	}
	return entitlementPB(e), nil
}

// ListAvailableTrials implements EntitlementService.
func (s *Server) ListAvailableTrials(ctx context.Context, _ *entitlementpb.ListAvailableTrialsRequest) (*entitlementpb.ListAvailableTrialsResponse, error) {
	trials, err := s.app.ListAvailableTrials(ctx)
	if err != nil {
		return nil, err
	}
	out := &entitlementpb.ListAvailableTrialsResponse{}
	for _, t := range trials {
		out.Trials = append(out.Trials, trialPB(t))
	}
	return out, nil
}

// RegisterTrials implements EntitlementService.
func (s *Server) RegisterTrials(ctx context.Context, req *entitlementpb.RegisterTrialsRequest) (*entitlementpb.RegisterTrialsResponse, error) {
	account, err := names.OptionalID("account", req.GetAccount(), "accounts")
	if err != nil {
		return nil, err
	}
	ents, err := s.app.RegisterTrials(ctx, req.GetPartNumbers(), account)
	if err != nil {
		return nil, err
	}
	out := &entitlementpb.RegisterTrialsResponse{}
	for _, e := range ents {
		out.Entitlements = append(out.Entitlements, entitlementPB(e))
	}
	return out, nil
}

var lineTypes = map[string]entitlementpb.LineItemType{
	app.LineStandard:     entitlementpb.LineItemType_LINE_ITEM_TYPE_STANDARD,
	app.LineUpgrade:      entitlementpb.LineItemType_LINE_ITEM_TYPE_UPGRADE,
	app.LineUpsell:       entitlementpb.LineItemType_LINE_ITEM_TYPE_UPSELL,
	app.LineRenewal:      entitlementpb.LineItemType_LINE_ITEM_TYPE_RENEWAL,
	app.LineMaintenance:  entitlementpb.LineItemType_LINE_ITEM_TYPE_MAINTENANCE,
	app.LineSubscription: entitlementpb.LineItemType_LINE_ITEM_TYPE_SUBSCRIPTION,
}

// lineTypesBack maps request types; UNSPECIFIED is "" (standard).
var lineTypesBack = func() map[entitlementpb.LineItemType]string {
	out := map[entitlementpb.LineItemType]string{}
	for k, v := range lineTypes {
		out[v] = k
	}
	return out
}()

// ListLineItems implements EntitlementService.
func (s *Server) ListLineItems(ctx context.Context, req *entitlementpb.ListLineItemsRequest) (*entitlementpb.ListLineItemsResponse, error) {
	list, next, err := s.app.ListLineItems(ctx, filter.Query{
		Filter: req.GetFilter(), OrderBy: req.GetOrderBy(), PageToken: req.GetPageToken(), PageSize: int(req.GetPageSize()),
	}, req.GetIncludeSuperseded())
	if err != nil {
		return nil, err
	}
	out := &entitlementpb.ListLineItemsResponse{NextPageToken: next}
	for _, li := range list {
		out.LineItems = append(out.LineItems, lineItemPB(li))
	}
	return out, nil
}

// GetEntitlementCertificate implements EntitlementService.
func (s *Server) GetEntitlementCertificate(ctx context.Context, req *entitlementpb.GetEntitlementCertificateRequest) (*entitlementpb.EntitlementCertificate, error) {
	id, err := names.ID("name", req.GetName(), "entitlements")
	if err != nil {
		return nil, err
	}
	text, err := s.app.Certificate(ctx, id)
	if err != nil {
		return nil, err
	}
	return &entitlementpb.EntitlementCertificate{Entitlement: req.GetName(), Text: text}, nil
}

// EmailLineItem implements EntitlementService.
func (s *Server) EmailLineItem(ctx context.Context, req *entitlementpb.EmailLineItemRequest) (*entitlementpb.EmailLineItemResponse, error) {
	id, err := names.ID("name", req.GetName(), "lineItems")
	if err != nil {
		return nil, err
	}
	ev, err := s.app.EmailLineItem(ctx, id, req.GetTo())
	if err != nil {
		return nil, err
	}
	return &entitlementpb.EmailLineItemResponse{EventId: ev.String()}, nil
}

// CreateSubscriptionToken implements EntitlementService.
func (s *Server) CreateSubscriptionToken(ctx context.Context, req *entitlementpb.CreateSubscriptionTokenRequest) (*entitlementpb.CreateSubscriptionTokenResponse, error) {
	account, err := names.ID("account", req.GetAccount(), "accounts")
	if err != nil {
		return nil, err
	}
	token, err := s.app.CreateSubscriptionToken(ctx, account)
	if err != nil {
		return nil, err
	}
	return &entitlementpb.CreateSubscriptionTokenResponse{Token: token, Account: req.GetAccount()}, nil
}

// RevokeSubscriptionToken implements EntitlementService.
func (s *Server) RevokeSubscriptionToken(ctx context.Context, req *entitlementpb.RevokeSubscriptionTokenRequest) (*entitlementpb.RevokeSubscriptionTokenResponse, error) {
	account, err := names.ID("account", req.GetAccount(), "accounts")
	if err != nil {
		return nil, err
	}
	return &entitlementpb.RevokeSubscriptionTokenResponse{}, s.app.RevokeSubscriptionToken(ctx, account)
}

// PullSubscription implements EntitlementService.
func (s *Server) PullSubscription(ctx context.Context, req *entitlementpb.PullSubscriptionRequest) (*entitlementpb.Subscription, error) {
	sub, err := s.app.PullSubscription(ctx, req.GetTenantId(), req.GetToken())
	if err != nil {
		return nil, err
	}
	out := &entitlementpb.Subscription{Account: "accounts/" + sub.AccountID, NextExpireTime: tsPtr(sub.NextExpireTime)}
	for _, li := range sub.LineItems {
		out.LineItems = append(out.LineItems, lineItemPB(li))
	}
	return out, nil
}

// TransferLineItem implements EntitlementService.
func (s *Server) TransferLineItem(ctx context.Context, req *entitlementpb.TransferLineItemRequest) (*entitlementpb.LineItem, error) {
	id, err := names.ID("name", req.GetName(), "lineItems")
	if err != nil {
		return nil, err
	}
	to, err := names.OptionalID("to_account", req.GetToAccount(), "accounts")
	if err != nil {
		return nil, err
	}
	li, err := s.app.TransferLineItem(ctx, id, to)
	if err != nil {
		return nil, err
	}
	return lineItemPB(li), nil
}

// DeployLineItem implements EntitlementService.
func (s *Server) DeployLineItem(ctx context.Context, req *entitlementpb.DeployLineItemRequest) (*entitlementpb.LineItem, error) {
	id, err := names.ID("name", req.GetName(), "lineItems")
	if err != nil {
		return nil, err
	}
	li, err := s.app.DeployLineItem(ctx, id)
	if err != nil {
		return nil, err
	}
	return lineItemPB(li), nil
}

// ObsoleteLineItem implements EntitlementService.
func (s *Server) ObsoleteLineItem(ctx context.Context, req *entitlementpb.ObsoleteLineItemRequest) (*entitlementpb.LineItem, error) {
	id, err := names.ID("name", req.GetName(), "lineItems")
	if err != nil {
		return nil, err
	}
	li, err := s.app.ObsoleteLineItem(ctx, id)
	if err != nil {
		return nil, err
	}
	return lineItemPB(li), nil
}

// DecideTransfer implements EntitlementService.
func (s *Server) DecideTransfer(ctx context.Context, req *entitlementpb.DecideTransferRequest) (*entitlementpb.LineItem, error) {
	id, err := names.ID("name", req.GetName(), "lineItems")
	if err != nil {
		return nil, err
	}
	li, err := s.app.DecideTransfer(ctx, id, req.GetApprove())
	if err != nil {
		return nil, err
	}
	return lineItemPB(li), nil
}

// SplitLineItem implements EntitlementService.
func (s *Server) SplitLineItem(ctx context.Context, req *entitlementpb.SplitLineItemRequest) (*entitlementpb.SplitLineItemResponse, error) {
	id, err := names.ID("name", req.GetName(), "lineItems")
	if err != nil {
		return nil, err
	}
	to, err := names.OptionalID("to_account", req.GetToAccount(), "accounts")
	if err != nil {
		return nil, err
	}
	contact, err := names.OptionalID("contact", req.GetContact(), "users")
	if err != nil {
		return nil, err
	}
	from, dest, err := s.app.SplitLineItem(ctx, app.Split{
		ActivationID: id, ToAccount: to, ContactUserID: contact, Quantity: req.GetQuantity(), Pool: req.GetPool(), RequestID: req.GetRequestId(),
	})
	if err != nil {
		return nil, err
	}
	return &entitlementpb.SplitLineItemResponse{From: lineItemPB(from), To: lineItemPB(dest)}, nil
}

func bulkPB(b app.BulkEntitlement) *entitlementpb.BulkEntitlement {
	out := &entitlementpb.BulkEntitlement{
		Name: "bulkEntitlements/" + b.ID, BulkEntitlementId: b.ID, Product: "products/" + b.ProductID, LicenseModel: "licenseModels/" + b.LicenseModelID,
		QuantityPerKey: b.QuantityPerKey, ExpireAfter: b.ExpireAfter, Retailer: accountName(b.Retailer), Redeemed: b.Redeemed(), CreateTime: ts(b.CreateTime),
	}
	if b.SplitFrom != "" {
		out.SplitFrom = "bulkEntitlements/" + b.SplitFrom
	}
	for _, k := range b.Keys {
		out.Keys = append(out.Keys, &entitlementpb.WebRegisterKey{Key: k.Key, RedeemedBy: accountName(k.RedeemedBy), RedeemTime: tsPtr(k.RedeemTime)})
	}
	return out
}

// CreateBulkEntitlement implements EntitlementService.
func (s *Server) CreateBulkEntitlement(ctx context.Context, req *entitlementpb.CreateBulkEntitlementRequest) (*entitlementpb.BulkEntitlement, error) {
	b := req.GetBulkEntitlement()
	product, err := names.OptionalID("bulk_entitlement.product", b.GetProduct(), "products")
	if err != nil {
		return nil, err
	}
	model, err := names.OptionalID("bulk_entitlement.license_model", b.GetLicenseModel(), "licenseModels")
	if err != nil {
		return nil, err
	}
	retailer, err := names.OptionalID("bulk_entitlement.retailer", b.GetRetailer(), "accounts")
	if err != nil {
		return nil, err
	}
	out, err := s.app.CreateBulkEntitlement(ctx, app.BulkEntitlement{
		ID: b.GetBulkEntitlementId(), ProductID: product, LicenseModelID: model, QuantityPerKey: b.GetQuantityPerKey(),
		ExpireAfter: b.GetExpireAfter(), Retailer: retailer, RequestID: req.GetRequestId(),
	}, int(req.GetKeyCount()))
	if err != nil {
		return nil, err
	}
	return bulkPB(out), nil
}

// GetBulkEntitlement implements EntitlementService.
func (s *Server) GetBulkEntitlement(ctx context.Context, req *entitlementpb.GetBulkEntitlementRequest) (*entitlementpb.BulkEntitlement, error) {
	id, err := names.ID("name", req.GetName(), "bulkEntitlements")
	if err != nil {
		return nil, err
	}
	out, err := s.app.GetBulkEntitlement(ctx, id)
	if err != nil {
		return nil, err
	}
	return bulkPB(out), nil
}

// RedeemWebRegisterKey implements EntitlementService.
func (s *Server) RedeemWebRegisterKey(ctx context.Context, req *entitlementpb.RedeemWebRegisterKeyRequest) (*entitlementpb.Entitlement, error) {
	account, err := names.OptionalID("account", req.GetAccount(), "accounts")
	if err != nil {
		return nil, err
	}
	e, err := s.app.RedeemWebRegisterKey(ctx, req.GetKey(), account)
	if err != nil {
		return nil, err
	}
	return entitlementPB(e), nil
}

// ListEntitlements implements EntitlementService.
func (s *Server) ListEntitlements(ctx context.Context, req *entitlementpb.ListEntitlementsRequest) (*entitlementpb.ListEntitlementsResponse, error) {
	list, next, err := s.app.ListEntitlements(ctx, filter.Query{
		Filter: req.GetFilter(), OrderBy: req.GetOrderBy(), PageToken: req.GetPageToken(), PageSize: int(req.GetPageSize()),
	})
	if err != nil {
		return nil, err
	}
	out := &entitlementpb.ListEntitlementsResponse{NextPageToken: next}
	for _, e := range list {
		out.Entitlements = append(out.Entitlements, entitlementPB(e))
	}
	return out, nil
}

// ListExpiringLineItems implements EntitlementService.
func (s *Server) ListExpiringLineItems(ctx context.Context, req *entitlementpb.ListExpiringLineItemsRequest) (*entitlementpb.ListExpiringLineItemsResponse, error) {
	accounts := make([]string, 0, len(req.GetAccounts()))
	for i, n := range req.GetAccounts() {
		id, err := names.ID(fieldIndex("accounts", i), n, "accounts")
		if err != nil {
			return nil, err
		}
		accounts = append(accounts, id)
	}
	rows, next, truncated, err := s.app.ListExpiring(ctx, app.ExpiringQuery{
		Expiring: req.GetExpiring(), Expired: req.GetExpired(), Subscription: req.GetSubscription(), Maintenance: req.GetMaintenance(),
		WithinDays: int(req.GetWithinDays()), Search: req.GetSearch(), OrderBy: req.GetOrderBy(), Accounts: accounts,
		PageSize: int(req.GetPageSize()), PageToken: req.GetPageToken(),
	})
	if err != nil {
		return nil, err
	}
	out := &entitlementpb.ListExpiringLineItemsResponse{Truncated: truncated, NextPageToken: next}
	for _, r := range rows {
		out.Items = append(out.Items, &entitlementpb.ExpiringLineItem{
			LineItem: lineItemPB(r.LineItem), AccountName: r.AccountName, EndTime: ts(r.EndTime), DaysRemaining: r.DaysRemaining, Kind: r.Kind,
		})
	}
	return out, nil
}

// RequestRenewal implements EntitlementService.
func (s *Server) RequestRenewal(ctx context.Context, req *entitlementpb.RequestRenewalRequest) (*entitlementpb.RequestRenewalResponse, error) {
	return &entitlementpb.RequestRenewalResponse{}, s.app.RequestRenewal(ctx, req.GetActivationIds(), req.GetNote())
}

// SplitBulkEntitlement implements EntitlementService.
func (s *Server) SplitBulkEntitlement(ctx context.Context, req *entitlementpb.SplitBulkEntitlementRequest) (*entitlementpb.BulkEntitlement, error) {
	id, err := names.ID("name", req.GetName(), "bulkEntitlements")
	if err != nil {
		return nil, err
	}
	to, err := names.OptionalID("to_retailer", req.GetToRetailer(), "accounts")
	if err != nil {
		return nil, err
	}
	out, err := s.app.SplitBulkEntitlement(ctx, id, to, int(req.GetKeyCount()), req.GetRequestId())
	if err != nil {
		return nil, err
	}
	return bulkPB(out), nil
}

// optionalTime is the time of a timestamp, zero when unset.
func optionalTime(ts *timestamppb.Timestamp) time.Time {
	if ts == nil {
		return time.Time{}
	}
	return ts.AsTime()
}
