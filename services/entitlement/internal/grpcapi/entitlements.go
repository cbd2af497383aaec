package grpcapi

import (
	"context"

	entitlementpb "github.com/tessera-dev/tessera/gen/tessera/entitlement/v1"
	"github.com/tessera-dev/tessera/services/entitlement/internal/app"
	"github.com/tessera-dev/tessera/services/platform/names"
)

func lineItemPB(li app.LineItem) *entitlementpb.LineItem {
	return &entitlementpb.LineItem{
		Name: "lineItems/" + li.ActivationID, ActivationId: li.ActivationID, Entitlement: "entitlements/" + li.EntitlementID,
		Product: "products/" + li.ProductID, LicenseModel: "licenseModels/" + li.LicenseModelID, State: states[li.State],
		Quantity: li.Quantity, Fulfilled: li.Fulfilled, Available: li.Available(), OrderLine: li.OrderLine,
		StartTime: tsPtr(li.StartTime), ExpireTime: tsPtr(li.ExpireTime), Account: "accounts/" + li.AccountID,
	}
}

func entitlementPB(e app.Entitlement) *entitlementpb.Entitlement {
	out := &entitlementpb.Entitlement{
		Name: "entitlements/" + e.ID, EntitlementId: e.ID, Account: "accounts/" + e.AccountID, OrderId: e.OrderID,
		ShipToEmails: e.ShipToEmails, CreateTime: ts(e.CreateTime),
	}
	for _, li := range e.LineItems {
		out.LineItems = append(out.LineItems, lineItemPB(li))
	}
	return out
}

// CreateOrder implements EntitlementService.
func (s *Server) CreateOrder(ctx context.Context, req *entitlementpb.CreateOrderRequest) (*entitlementpb.Entitlement, error) {
	account, err := names.ID("sold_to", req.GetSoldTo(), "accounts")
	if err != nil {
		return nil, err
	}
	o := app.Order{OrderID: req.GetOrderId(), AccountID: account, ShipToEmails: req.GetShipToEmails()}
	for i, l := range req.GetLines() {
		product, err := names.OptionalID(fieldIndex("lines", i)+".product", l.GetProduct(), "products")
		if err != nil {
			return nil, err
		}
		model, err := names.OptionalID(fieldIndex("lines", i)+".license_model", l.GetLicenseModel(), "licenseModels")
		if err != nil {
			return nil, err
		}
		o.Lines = append(o.Lines, app.OrderLine{
			LineNumber: l.GetLineNumber(), ProductID: product, LicenseModelID: model, Quantity: l.GetQuantity(),
			StartTime: timePtr(l.GetStartTime()), ExpireTime: timePtr(l.GetExpireTime()),
		})
	}
	e, err := s.app.CreateOrder(ctx, o)
	if err != nil {
		return nil, err
	}
	return entitlementPB(e), nil
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
	return out
}

// ReserveSeats implements EntitlementService.
func (s *Server) ReserveSeats(ctx context.Context, req *entitlementpb.ReserveSeatsRequest) (*entitlementpb.Reservation, error) {
	r, err := s.app.ReserveSeats(ctx, req.GetReservationId(), req.GetActivationId(), req.GetQuantity(), req.GetHolder(), req.GetAccountIds())
	if err != nil {
		return nil, err
	}
	return reservationPB(r), nil
}

// ConfirmSeats implements EntitlementService.
func (s *Server) ConfirmSeats(ctx context.Context, req *entitlementpb.ConfirmSeatsRequest) (*entitlementpb.Reservation, error) {
	r, err := s.app.ConfirmSeats(ctx, req.GetReservationId())
	if err != nil {
		return nil, err
	}
	return reservationPB(r), nil
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
