// Copyright IBM Corp. 2016, 2025
// SPDX-License-Identifier: BUSL-1.1

//go:build minimal

// This file is laid over Vault's own helper/builtinplugins/registry_min.go
// when scripts/tools.sh builds the test server (go build -overlay): Vault's
// "minimal" build leaves out the cloud add-on plugins (Azure, GCP,
// Kubernetes, AliCloud, OCI, Snowflake...) that vigil's tests never mount,
// which is a quarter of its packages; this adds back the ones they do, with
// the factories Vault's own registry_full.go registers.

package builtinplugins

import (
	dbRedis "github.com/hashicorp/vault-plugin-database-redis"
	logicalAws "github.com/hashicorp/vault/builtin/logical/aws"
	logicalConsul "github.com/hashicorp/vault/builtin/logical/consul"
	logicalNomad "github.com/hashicorp/vault/builtin/logical/nomad"
	"github.com/hashicorp/vault/helper/pluginconsts"
	dbMysql "github.com/hashicorp/vault/plugins/database/mysql"
	dbPostgres "github.com/hashicorp/vault/plugins/database/postgresql"
)

func extendAddonPlugins(reg *registry) {
	reg.logicalBackends[pluginconsts.SecretEngineAWS] = logicalBackend{Factory: logicalAws.Factory}
	reg.logicalBackends[pluginconsts.SecretEngineConsul] = logicalBackend{Factory: logicalConsul.Factory}
	reg.logicalBackends[pluginconsts.SecretEngineNomad] = logicalBackend{Factory: logicalNomad.Factory}
	reg.databasePlugins["postgresql-database-plugin"] = databasePlugin{Factory: dbPostgres.New}
	reg.databasePlugins["mysql-database-plugin"] = databasePlugin{Factory: dbMysql.New(dbMysql.DefaultUserNameTemplate)}
	reg.databasePlugins["redis-database-plugin"] = databasePlugin{Factory: dbRedis.New}
}
