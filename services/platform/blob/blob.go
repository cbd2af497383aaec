// Package blob stores file contents. The local implementation keeps objects in a
// folder, addressed by their SHA-256, so equal uploads are stored once and every read
// can be checked against its name.
package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
)

// Object describes a stored blob.
type Object struct {
	Key    string // hex SHA-256 of the content
	Size   int64
	SHA256 string
}

// Store is the blob storage the download service needs.
type Store interface {
	Put(ctx context.Context, r io.Reader) (Object, error)
	// Open returns length bytes from offset (length 0: to the end).
	Open(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error)
}

// ErrNotFound says there is no object under the key.
var ErrNotFound = errors.New("blob: not found")

// Local is a Store in a local folder.
type Local struct{ Dir string }

// NewLocal returns a local store rooted at dir, creating it.
func NewLocal(dir string) (*Local, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	return &Local{Dir: dir}, nil
}

var keyPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

func (l *Local) path(key string) string { return filepath.Join(l.Dir, key[:2], key) }

// Put stores the content of r.
func (l *Local) Put(ctx context.Context, r io.Reader) (Object, error) {
	tmp, err := os.CreateTemp(l.Dir, ".upload-*")
	if err != nil {
		return Object{}, err
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), readerWithContext{ctx, r})
	if err != nil {
		_ = tmp.Close()
		return Object{}, err
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return Object{}, err
	}
	if err := tmp.Close(); err != nil {
		return Object{}, err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if err := os.MkdirAll(filepath.Dir(l.path(sum)), 0o750); err != nil {
		return Object{}, err
	}
	if err := os.Rename(tmp.Name(), l.path(sum)); err != nil {
		return Object{}, err
	}
	return Object{Key: sum, Size: n, SHA256: sum}, nil
}

// Open reads a range of an object.
func (l *Local) Open(_ context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	if !keyPattern.MatchString(key) {
		return nil, fmt.Errorf("blob: invalid key %q", key)
	}
	f, err := os.Open(l.path(key))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		_ = f.Close()
		return nil, err
	}
	if length <= 0 {
		return f, nil
	}
	return struct {
		io.Reader
		io.Closer
	}{io.LimitReader(f, length), f}, nil
}

type readerWithContext struct {
	ctx context.Context
	r   io.Reader
}

func (r readerWithContext) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}
