using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace CivicLens.Storage.PostgreSql.Migrations
{
    /// <inheritdoc />
    public partial class PromisesKept : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "attributes",
                table: "reports",
                type: "text",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "contact_deleted_at",
                table: "reports",
                type: "bigint",
                nullable: true);

            migrationBuilder.AddColumn<bool>(
                name: "notify_reporter",
                table: "reports",
                type: "boolean",
                nullable: false,
                defaultValue: false);

            migrationBuilder.AddColumn<long>(
                name: "reporter_notified_at",
                table: "reports",
                type: "bigint",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "remote_checked_at",
                table: "cases",
                type: "bigint",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "remote_department_id",
                table: "cases",
                type: "text",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "remote_request_id",
                table: "cases",
                type: "text",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "remote_status",
                table: "cases",
                type: "text",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "audit_trims",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    up_to_seq = table.Column<long>(type: "bigint", nullable: false),
                    hash = table.Column<string>(type: "text", nullable: false),
                    at = table.Column<long>(type: "bigint", nullable: false),
                    records = table.Column<long>(type: "bigint", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_audit_trims", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "event_evidence",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    event_id = table.Column<Guid>(type: "uuid", nullable: false),
                    camera_id = table.Column<string>(type: "text", nullable: false),
                    snapshot = table.Column<string>(type: "text", nullable: false),
                    at = table.Column<long>(type: "bigint", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_event_evidence", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "legal_holds",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    scope = table.Column<string>(type: "text", nullable: false),
                    target = table.Column<string>(type: "text", nullable: false),
                    from = table.Column<long>(type: "bigint", nullable: true),
                    to = table.Column<long>(type: "bigint", nullable: true),
                    case_reference = table.Column<string>(type: "text", nullable: false),
                    reason = table.Column<string>(type: "text", nullable: false),
                    created_by = table.Column<string>(type: "text", nullable: false),
                    created_at = table.Column<long>(type: "bigint", nullable: false),
                    expires_at = table.Column<long>(type: "bigint", nullable: false),
                    released_at = table.Column<long>(type: "bigint", nullable: true),
                    released_by = table.Column<string>(type: "text", nullable: true),
                    release_reason = table.Column<string>(type: "text", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_legal_holds", x => x.id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_event_evidence_event_id",
                table: "event_evidence",
                column: "event_id");

            migrationBuilder.CreateIndex(
                name: "IX_event_evidence_event_id_camera_id_snapshot",
                table: "event_evidence",
                columns: new[] { "event_id", "camera_id", "snapshot" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_legal_holds_expires_at",
                table: "legal_holds",
                column: "expires_at");

            migrationBuilder.CreateIndex(
                name: "IX_legal_holds_scope_target",
                table: "legal_holds",
                columns: new[] { "scope", "target" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "audit_trims");

            migrationBuilder.DropTable(
                name: "event_evidence");

            migrationBuilder.DropTable(
                name: "legal_holds");

            migrationBuilder.DropColumn(
                name: "attributes",
                table: "reports");

            migrationBuilder.DropColumn(
                name: "contact_deleted_at",
                table: "reports");

            migrationBuilder.DropColumn(
                name: "notify_reporter",
                table: "reports");

            migrationBuilder.DropColumn(
                name: "reporter_notified_at",
                table: "reports");

            migrationBuilder.DropColumn(
                name: "remote_checked_at",
                table: "cases");

            migrationBuilder.DropColumn(
                name: "remote_department_id",
                table: "cases");

            migrationBuilder.DropColumn(
                name: "remote_request_id",
                table: "cases");

            migrationBuilder.DropColumn(
                name: "remote_status",
                table: "cases");
        }
    }
}
