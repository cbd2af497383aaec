package app

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/filter"
)

// PreviewSize is how many features the license preview shows (SPEC DEV-12).
const PreviewSize = 10

// ProductFeature is a feature a product licenses.
type ProductFeature struct {
	Name, Version string
}

// Catalog is what the service needs of the entitlement service's catalog.
type Products interface {
	// ProductFeatures returns a product's features.
	ProductFeatures(ctx context.Context, productID string) ([]ProductFeature, error)
	// LineItemProduct returns the product a line item is of.
	LineItemProduct(ctx context.Context, activationID string) (string, error)
}

// DeviceFeature is a feature a device's mapped line items give it.
type DeviceFeature struct {
	Name, Version string
	// Count is the seats of every line item giving the feature, summed: each seat
	// of a product counts each of its features once (products list features without
	// counts).
	Count int64
	// ExpireTime is the earliest expiry among those line items; zero: permanent.
	ExpireTime time.Time
	// LineItems give it (activation IDs; masked ones left out).
	LineItems []string
}

// deviceFeatures computes the features of a device the caller sees, sorted by name
// and version. Products are fetched once per request.
func (a *App) deviceFeatures(ctx context.Context, id string) ([]DeviceFeature, error) {
	raw, scope, err := a.visibleDevice(ctx, id)
	if err != nil {
		return nil, err
	}
	products := map[string][]ProductFeature{}
	byKey := map[string]*DeviceFeature{}
	for _, m := range raw.Mappings {
		if !scope.inLines(m) {
			continue // never shown to this caller, not even masked
		}
		shown := scope.showsLineItem(raw, m)
		product := m.ProductID
		if product == "" {
			if product, err = a.products.LineItemProduct(ctx, m.ActivationID); err != nil {
				return nil, err
			}
		}
		features, ok := products[product]
		if !ok {
			if features, err = a.products.ProductFeatures(ctx, product); err != nil {
				return nil, err
			}
			products[product] = features
		}
		expiry := m.ConfiguredExpireAt
		if !m.ExpireAt.IsZero() && (expiry.IsZero() || m.ExpireAt.Before(expiry)) {
			expiry = m.ExpireAt
		}
		for _, f := range features {
			key := f.Name + "\x00" + f.Version
			df := byKey[key]
			if df == nil {
				df = &DeviceFeature{Name: f.Name, Version: f.Version, ExpireTime: expiry}
				byKey[key] = df
			} else if df.ExpireTime.IsZero() || (!expiry.IsZero() && expiry.Before(df.ExpireTime)) {
				if !expiry.IsZero() {
					df.ExpireTime = expiry
				}
			}
			df.Count += m.Quantity
			if shown && !slices.Contains(df.LineItems, m.ActivationID) {
				df.LineItems = append(df.LineItems, m.ActivationID)
			}
		}
	}
	out := make([]DeviceFeature, 0, len(byKey))
	for _, f := range byKey {
		out = append(out, *f)
	}
	slices.SortFunc(out, func(x, y DeviceFeature) int {
		if c := strings.Compare(x.Name, y.Name); c != 0 {
			return c
		}
		return strings.Compare(x.Version, y.Version)
	})
	return out, nil
}

// LicensePreview is the first features of a device and how many there are.
type LicensePreview struct {
	Features []DeviceFeature
	Total    int
}

// GetLicensePreview returns a device's first ten features by name and their total
// (SPEC DEV-12).
func (a *App) GetLicensePreview(ctx context.Context, id string) (LicensePreview, error) {
	all, err := a.deviceFeatures(ctx, id)
	if err != nil {
		return LicensePreview{}, err
	}
	return LicensePreview{Features: all[:min(len(all), PreviewSize)], Total: len(all)}, nil
}

// ListDeviceFeatures pages through a device's features by name.
func (a *App) ListDeviceFeatures(ctx context.Context, id string, pageSize int, pageToken string) ([]DeviceFeature, string, error) {
	if pageSize < 0 {
		return nil, "", errs.Invalid("page_size", "must not be negative")
	}
	if pageSize == 0 {
		pageSize = 50
	}
	pageSize = min(pageSize, 1000)
	start := 0
	if pageToken != "" {
		c, err := filter.DecodeCursor(pageToken, "features:"+id)
		if err != nil {
			return nil, "", err
		}
		if start, err = strconv.Atoi(c.ID); err != nil || start < 0 {
			return nil, "", errs.Invalid("page_token", "is not a token this service issued")
		}
	}
	all, err := a.deviceFeatures(ctx, id)
	if err != nil {
		return nil, "", err
	}
	if start >= len(all) {
		return nil, "", nil
	}
	end := min(start+pageSize, len(all))
	next := ""
	if end < len(all) {
		next = filter.Cursor{ID: strconv.Itoa(end), Query: "features:" + id}.Encode()
	}
	return all[start:end], next, nil
}
