// Package app holds the download service's use cases: packages of files linked to
// products, and downloads for entitled users.
package app

import (
	"context"
	"io"
	"path"
	"strings"
	"time"

	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/blob"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/ids"
)

// Package is a downloadable release of a product.
type Package struct {
	ID          string
	DisplayName string
	ProductID   string
	Files       []File
	RequestID   string
	CreateTime  time.Time
}

// File is one file of a package.
type File struct {
	ID         string
	PackageID  string
	Filename   string
	Size       int64
	SHA256     string
	BlobKey    string
	RequestID  string
	CreateTime time.Time
}

// Store is the persistence the use cases need.
type Store interface {
	CreatePackage(ctx context.Context, tenant string, p Package) (Package, error)
	GetPackage(ctx context.Context, tenant, id string) (Package, error)
	CreateFile(ctx context.Context, tenant string, f File) (File, error)
	GetFile(ctx context.Context, tenant, packageID, fileID string) (File, error)
	LogDownload(ctx context.Context, tenant string, f File, userID string, offset, length int64) error
}

// Entitlements is what the service needs of the entitlement service.
type Entitlements interface {
	ProductExists(ctx context.Context, productID string) (bool, error)
	HasProductAccess(ctx context.Context, productID string, accountIDs []string) (bool, error)
}

// App is the download service's use cases.
type App struct {
	store Store
	blobs blob.Store
	ent   Entitlements
}

// New returns the use cases.
func New(store Store, blobs blob.Store, ent Entitlements) *App {
	return &App{store: store, blobs: blobs, ent: ent}
}

// CreatePackage validates and stores a package of an existing product.
func (a *App) CreatePackage(ctx context.Context, p Package) (Package, error) {
	var v errs.Violations
	p.ID = ids.Resolve(&v, "package_id", authz.MustTenant(ctx), "PKG", p.ID, p.RequestID)
	v.Require("package.display_name", p.DisplayName)
	v.Require("package.product", p.ProductID)
	if err := v.Err(); err != nil {
		return Package{}, err
	}
	ok, err := a.ent.ProductExists(ctx, p.ProductID)
	if err != nil {
		return Package{}, err
	}
	if !ok {
		return Package{}, errs.Invalid("package.product", "product %q does not exist", p.ProductID)
	}
	return a.store.CreatePackage(ctx, authz.MustTenant(ctx), p)
}

// GetPackage reads a package the caller is entitled to.
func (a *App) GetPackage(ctx context.Context, id string) (Package, error) {
	p, err := a.store.GetPackage(ctx, authz.MustTenant(ctx), id)
	if err != nil {
		return p, err
	}
	if err := a.checkAccess(ctx, p.ProductID); err != nil {
		return Package{}, errs.NotFound("package", id)
	}
	return p, nil
}

// CreateFile stores content in blob storage and adds it to a package.
func (a *App) CreateFile(ctx context.Context, packageID, filename string, content io.Reader, requestID string) (File, error) {
	if filename == "" || len(filename) > 255 || strings.ContainsAny(filename, "/\\\x00") || path.Clean(filename) != filename || filename == ".." {
		return File{}, errs.Invalid("filename", "must be a plain file name of 1-255 characters")
	}
	tenant := authz.MustTenant(ctx)
	if _, err := a.store.GetPackage(ctx, tenant, packageID); err != nil {
		return File{}, err
	}
	obj, err := a.blobs.Put(ctx, content)
	if err != nil {
		return File{}, err
	}
	f := File{ID: ids.New("FIL", 3), PackageID: packageID, Filename: filename, Size: obj.Size, SHA256: obj.SHA256, BlobKey: obj.Key, RequestID: requestID}
	return a.store.CreateFile(ctx, tenant, f)
}

// Download is an open file range.
type Download struct {
	File   File
	Offset int64
	Length int64
	Body   io.ReadCloser
}

// OpenDownload checks the caller's entitlement, logs the download and opens the
// requested range (length 0: to the end).
func (a *App) OpenDownload(ctx context.Context, packageID, fileID string, offset, length int64) (Download, error) {
	p, _ := authz.FromContext(ctx)
	tenant := p.GetTenantId()
	pkg, err := a.store.GetPackage(ctx, tenant, packageID)
	if err != nil {
		return Download{}, errs.NotFound("file", packageID+"/"+fileID)
	}
	if err := a.checkAccess(ctx, pkg.ProductID); err != nil {
		return Download{}, err
	}
	f, err := a.store.GetFile(ctx, tenant, packageID, fileID)
	if err != nil {
		return Download{}, err
	}
	var v errs.Violations
	if offset < 0 || (offset > 0 && offset >= f.Size) {
		v.Add("offset", "must be within the file's %d bytes", f.Size)
	}
	if length < 0 {
		v.Add("length", "must not be negative")
	}
	if err := v.Err(); err != nil {
		return Download{}, err
	}
	if length == 0 || offset+length > f.Size {
		length = f.Size - offset
	}
	if err := a.store.LogDownload(ctx, tenant, f, p.GetUserId(), offset, length); err != nil {
		return Download{}, err
	}
	body, err := a.blobs.Open(ctx, f.BlobKey, offset, length)
	if err != nil {
		return Download{}, err
	}
	return Download{File: f, Offset: offset, Length: length, Body: body}, nil
}

// checkAccess lets producers through and asks the entitlement service for others.
func (a *App) checkAccess(ctx context.Context, productID string) error {
	p, _ := authz.FromContext(ctx)
	if p.GetTenantWide() {
		return nil
	}
	ok, err := a.ent.HasProductAccess(ctx, productID, p.GetAccountIds())
	if err != nil {
		return err
	}
	if !ok {
		return &errs.Error{
			Kind: errs.KindPermissionDenied, Reason: "NOT_ENTITLED",
			Message:  "none of the caller's accounts is entitled to product " + productID,
			Metadata: map[string]string{"product": "products/" + productID},
		}
	}
	return nil
}
