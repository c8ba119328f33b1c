// Package lakeenv opens the Iceberg catalog and warehouse that the Lambda functions' environment
// (package awsenv) names. It is apart from awsenv so that the API Lambda, which reads only
// DynamoDB, does not link Iceberg.
//
// With CTC_CATALOG=glue the tables are in the Glue Data Catalog, their files under CTC_WAREHOUSE on
// S3. CTC_CATALOG=sql is for local runs and tests: an Iceberg SQL catalog in a SQLite file, with the
// files in a local directory (CTC_WAREHOUSE a path: the layout of sink/iceberg's Config.Dir, so the
// consumer's and the loader's local warehouses work) or on S3 (CTC_WAREHOUSE s3://…, with
// CTC_CATALOG_URI naming the SQLite file). A SQLite file in a Lambda's /tmp does not outlive the
// container: on AWS use glue.
package lakeenv

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/glue"
	icebergio "github.com/apache/iceberg-go/io"
	_ "github.com/apache/iceberg-go/io/gocloud/s3" // s3:// warehouses
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/coattailcapital/ctc/awsenv"
	icebergsink "github.com/coattailcapital/ctc/sink/iceberg"
)

// localWarehouse returns the directory of a local warehouse, or "" for an s3:// one.
func localWarehouse(e awsenv.Env) (string, error) {
	w := e.Warehouse
	if strings.HasPrefix(w, "s3://") || strings.HasPrefix(w, "s3a://") {
		return "", nil
	}
	if p, ok := strings.CutPrefix(w, "file://"); ok {
		w = p
	}
	if w == "" {
		return "", errors.New("lakeenv: CTC_WAREHOUSE is required: s3://bucket/prefix, or a directory with CTC_CATALOG=sql")
	}
	return filepath.Abs(w)
}

// OpenCatalog opens the Iceberg catalog CTC_CATALOG names. close releases it (a no-op for Glue).
func OpenCatalog(ctx context.Context, e awsenv.Env, cfg aws.Config) (cat catalog.Catalog, close func() error, err error) {
	switch e.CatalogKind() {
	case "glue":
		if !strings.HasPrefix(e.Warehouse, "s3://") {
			return nil, nil, fmt.Errorf("lakeenv: CTC_CATALOG=glue needs CTC_WAREHOUSE=s3://bucket/prefix, got %q", e.Warehouse)
		}
		c, err := glue.NewCatalog(glue.WithAwsConfig(cfg))
		if err != nil {
			return nil, nil, fmt.Errorf("lakeenv: open the Glue catalog: %w", err)
		}
		return c, func() error { return nil }, nil
	case "sql":
		dir, err := localWarehouse(e)
		if err != nil {
			return nil, nil, err
		}
		dbPath := e.CatalogURI
		if dbPath == "" {
			if dir == "" {
				return nil, nil, errors.New("lakeenv: CTC_CATALOG=sql with an s3:// warehouse needs CTC_CATALOG_URI, the SQLite catalog file")
			}
			dbPath = filepath.Join(dir, "catalog.db")
		}
		props := iceberg.Properties{}
		if dir != "" {
			wh := filepath.Join(dir, "warehouse")
			if err := os.MkdirAll(wh, 0o755); err != nil {
				return nil, nil, fmt.Errorf("lakeenv: local warehouse: %w", err)
			}
			props["warehouse"] = (&url.URL{Scheme: "file", Path: filepath.ToSlash(wh)}).String()
		} else {
			props["warehouse"] = e.Warehouse
		}
		for k, v := range IOProps(e) {
			props[k] = v
		}
		c, closeCat, err := icebergsink.OpenSQLCatalog(dbPath, props)
		if err != nil {
			return nil, nil, fmt.Errorf("lakeenv: %w", err)
		}
		return c, closeCat, nil
	}
	return nil, nil, fmt.Errorf("lakeenv: CTC_CATALOG must be glue or sql, got %q", e.Catalog)
}

// IOProps are the Iceberg file-IO properties of an S3 warehouse: the region, and the endpoint
// (path-style) of a local S3. Nil for a local warehouse.
func IOProps(e awsenv.Env) iceberg.Properties {
	if dir, err := localWarehouse(e); err != nil || dir != "" {
		return nil
	}
	p := iceberg.Properties{}
	if e.Region != "" {
		p[icebergio.S3Region] = e.Region
	}
	if e.S3Endpoint != "" {
		p[icebergio.S3EndpointURL] = e.S3Endpoint
		p[icebergio.S3ForceVirtualAddressing] = "false"
	}
	return p
}

// LakeConfig is the iceberg sink configuration on cat.
func LakeConfig(e awsenv.Env, cat catalog.Catalog) icebergsink.Config {
	c := icebergsink.Config{Namespace: e.Namespace, Catalog: cat, Props: IOProps(e)}
	if dir, _ := localWarehouse(e); dir == "" {
		c.Warehouse = e.Warehouse
	}
	return c
}
