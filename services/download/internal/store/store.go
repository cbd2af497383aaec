// Package store keeps the download service's packages, files and download log.
package store

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	eventspb "github.com/tessera-dev/tessera/gen/tessera/events/v1"
	"github.com/tessera-dev/tessera/services/download/internal/app"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/events"
	"github.com/tessera-dev/tessera/services/platform/pg"
)

// Store implements app.Store.
type Store struct{ pool *pgxpool.Pool }

// New returns a store over pool (search path: the download schema).
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// CreatePackage stores a package, or returns the one created earlier under the same
// request ID.
func (s *Store) CreatePackage(ctx context.Context, tenant string, p app.Package) (app.Package, error) {
	_, err := s.pool.Exec(ctx, `INSERT INTO packages (tenant_id, id, display_name, product_id, request_id) VALUES ($1, $2, $3, $4, $5)`,
		tenant, p.ID, p.DisplayName, p.ProductID, pg.NullIfEmpty(p.RequestID))
	if e := errs.FromPostgres(err); e != nil && e.Kind == errs.KindAlreadyExists {
		if prev, perr := s.GetPackage(ctx, tenant, p.ID); perr == nil && p.RequestID != "" && prev.RequestID == p.RequestID {
			return prev, nil
		}
		return app.Package{}, errs.AlreadyExists("package", p.ID)
	}
	if err != nil {
		return app.Package{}, err
	}
	return s.GetPackage(ctx, tenant, p.ID)
}

// GetPackage reads a package with its files.
func (s *Store) GetPackage(ctx context.Context, tenant, id string) (app.Package, error) {
	var p app.Package
	err := s.pool.QueryRow(ctx, `SELECT id, display_name, product_id, coalesce(request_id, ''), created_at FROM packages WHERE tenant_id = $1 AND id = $2`, tenant, id).
		Scan(&p.ID, &p.DisplayName, &p.ProductID, &p.RequestID, &p.CreateTime)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, errs.NotFound("package", id)
	}
	if err != nil {
		return p, err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+fileCols+` FROM files WHERE tenant_id = $1 AND package_id = $2 ORDER BY filename`, tenant, id)
	if err != nil {
		return p, err
	}
	p.Files, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (app.File, error) { return scanFile(r) })
	return p, err
}

const fileCols = `id, package_id, filename, size_bytes, sha256, blob_key, coalesce(request_id, ''), created_at`

func scanFile(row pgx.Row) (app.File, error) {
	var f app.File
	err := row.Scan(&f.ID, &f.PackageID, &f.Filename, &f.Size, &f.SHA256, &f.BlobKey, &f.RequestID, &f.CreateTime)
	return f, err
}

// CreateFile stores a file's metadata and writes file.created; a request ID seen
// before returns the file it created.
func (s *Store) CreateFile(ctx context.Context, tenant string, f app.File) (app.File, error) {
	if f.RequestID != "" {
		if prev, err := scanFile(s.pool.QueryRow(ctx, `SELECT `+fileCols+` FROM files WHERE tenant_id = $1 AND request_id = $2`, tenant, f.RequestID)); err == nil {
			return prev, nil
		}
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO files (tenant_id, package_id, id, filename, size_bytes, sha256, blob_key, request_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, tenant, f.PackageID, f.ID, f.Filename, f.Size, f.SHA256, f.BlobKey, pg.NullIfEmpty(f.RequestID)); err != nil {
			return err
		}
		_, err := events.Write(ctx, tx, events.Subject("download", "file", "created"), tenant,
			&eventspb.FileCreated{PackageId: f.PackageID, FileId: f.ID, Sha256: f.SHA256, SizeBytes: f.Size})
		return err
	})
	if e := errs.FromPostgres(err); e != nil && e.Kind == errs.KindAlreadyExists {
		return app.File{}, errs.AlreadyExists("file", f.Filename)
	}
	if err != nil {
		return app.File{}, err
	}
	return s.GetFile(ctx, tenant, f.PackageID, f.ID)
}

// GetFile reads one file.
func (s *Store) GetFile(ctx context.Context, tenant, packageID, fileID string) (app.File, error) {
	f, err := scanFile(s.pool.QueryRow(ctx, `SELECT `+fileCols+` FROM files WHERE tenant_id = $1 AND package_id = $2 AND id = $3`, tenant, packageID, fileID))
	if errors.Is(err, pgx.ErrNoRows) {
		return f, errs.NotFound("file", packageID+"/"+fileID)
	}
	return f, err
}

// LogDownload records a served download.
func (s *Store) LogDownload(ctx context.Context, tenant string, f app.File, userID string, offset, length int64) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO download_log (tenant_id, package_id, file_id, user_id, byte_offset, byte_length) VALUES ($1, $2, $3, $4, $5, $6)`,
		tenant, f.PackageID, f.ID, userID, offset, length)
	return err
}
