package grpcapi

import (
	"context"
	"fmt"
	"strings"
	"time"

	devicepb "github.com/tessera-dev/tessera/gen/tessera/device/v1"
	"github.com/tessera-dev/tessera/services/device/internal/app"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/names"
)

// MapLineItem implements DeviceService.
func (s *Server) MapLineItem(ctx context.Context, req *devicepb.MapLineItemRequest) (*devicepb.Device, error) {
	id, err := names.ID("device", req.GetDevice(), "devices")
	if err != nil {
		return nil, err
	}
	activationID, err := names.ID("line_item", req.GetLineItem(), "lineItems")
	if err != nil {
		return nil, err
	}
	out, err := s.app.MapLineItem(ctx, id, activationID, req.GetQuantity(), req.GetRequestId())
	if err != nil {
		return nil, err
	}
	return devicePB(out), nil
}

// MapLineItems implements DeviceService.
func (s *Server) MapLineItems(ctx context.Context, req *devicepb.MapLineItemsRequest) (*devicepb.MapLineItemsResponse, error) {
	id, err := names.ID("device", req.GetDevice(), "devices")
	if err != nil {
		return nil, err
	}
	var v errs.Violations
	items := make([]app.MapItem, len(req.GetItems()))
	for i, it := range req.GetItems() {
		field := fmt.Sprintf("items[%d].", i)
		switch {
		case it.GetLineItem() != "" && it.GetActivationId() != "":
			v.Add(field+"line_item", "give line_item or activation_id, not both")
		case it.GetLineItem() != "":
			activationID, ok := strings.CutPrefix(it.GetLineItem(), "lineItems/")
			if !ok || activationID == "" || strings.Contains(activationID, "/") {
				v.Add(field+"line_item", "must look like lineItems/{id}")
			}
			items[i].ActivationID = activationID
		case it.GetActivationId() != "":
			items[i].ActivationID, items[i].ByActivationID = it.GetActivationId(), true
		default:
			v.Add(field+"line_item", "is required (or activation_id)")
		}
		items[i].Quantity = it.GetQuantity()
		if t := it.GetExpireTime(); t != nil {
			if err := t.CheckValid(); err != nil {
				v.Add(field+"expire_time", "is not a valid time")
			} else if items[i].ExpireAt = t.AsTime().Truncate(time.Microsecond); items[i].ExpireAt.IsZero() {
				// The zero time means "no override" below; one given is long past.
				v.Add(field+"expire_time", "must be in the future")
			}
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	out, err := s.app.MapLineItems(ctx, id, items, req.GetRequestId(), req.GetValidateOnly())
	if err != nil {
		return nil, err
	}
	return &devicepb.MapLineItemsResponse{Device: devicePB(out)}, nil
}

// UnmapLineItem implements DeviceService.
func (s *Server) UnmapLineItem(ctx context.Context, req *devicepb.UnmapLineItemRequest) (*devicepb.Device, error) {
	id, err := names.ID("device", req.GetDevice(), "devices")
	if err != nil {
		return nil, err
	}
	activationID, err := names.ID("line_item", req.GetLineItem(), "lineItems")
	if err != nil {
		return nil, err
	}
	out, err := s.app.UnmapLineItem(ctx, id, activationID, req.GetQuantity(), req.GetRequestId())
	if err != nil {
		return nil, err
	}
	return devicePB(out), nil
}

// ReturnDevice implements DeviceService.
func (s *Server) ReturnDevice(ctx context.Context, req *devicepb.ReturnDeviceRequest) (*devicepb.Device, error) {
	id, err := names.ID("name", req.GetName(), "devices")
	if err != nil {
		return nil, err
	}
	dest, err := names.OptionalID("destination_device", req.GetDestinationDevice(), "devices")
	if err != nil {
		return nil, err
	}
	out, err := s.app.ReturnDevice(ctx, id, dest, req.GetRmaNumber(), req.GetRequestId())
	if err != nil {
		return nil, err
	}
	return devicePB(out), nil
}

// MoveDevice implements DeviceService.
func (s *Server) MoveDevice(ctx context.Context, req *devicepb.MoveDeviceRequest) (*devicepb.Device, error) {
	id, err := names.ID("name", req.GetName(), "devices")
	if err != nil {
		return nil, err
	}
	to, err := names.ID("to_account", req.GetToAccount(), "accounts")
	if err != nil {
		return nil, err
	}
	out, err := s.app.MoveDevice(ctx, id, to, req.GetPool(), req.GetRequestId())
	if err != nil {
		return nil, err
	}
	return devicePB(out), nil
}
