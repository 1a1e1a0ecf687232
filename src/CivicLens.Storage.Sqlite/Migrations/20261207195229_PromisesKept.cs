using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace CivicLens.Storage.Sqlite.Migrations
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
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "contact_deleted_at",
                table: "reports",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<bool>(
                name: "notify_reporter",
                table: "reports",
                type: "INTEGER",
                nullable: false,
                defaultValue: false);

            migrationBuilder.AddColumn<long>(
                name: "reporter_notified_at",
                table: "reports",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "remote_checked_at",
                table: "cases",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "remote_department_id",
                table: "cases",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "remote_request_id",
                table: "cases",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "remote_status",
                table: "cases",
                type: "TEXT",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "audit_trims",
                columns: table => new
                {
                    id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    up_to_seq = table.Column<long>(type: "INTEGER", nullable: false),
                    hash = table.Column<string>(type: "TEXT", nullable: false),
                    at = table.Column<long>(type: "INTEGER", nullable: false),
                    records = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_audit_trims", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "event_evidence",
                columns: table => new
                {
                    id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    event_id = table.Column<string>(type: "TEXT", nullable: false),
                    camera_id = table.Column<string>(type: "TEXT", nullable: false),
                    snapshot = table.Column<string>(type: "TEXT", nullable: false),
                    at = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_event_evidence", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "legal_holds",
                columns: table => new
                {
                    id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    scope = table.Column<string>(type: "TEXT", nullable: false),
                    target = table.Column<string>(type: "TEXT", nullable: false),
                    from = table.Column<long>(type: "INTEGER", nullable: true),
                    to = table.Column<long>(type: "INTEGER", nullable: true),
                    case_reference = table.Column<string>(type: "TEXT", nullable: false),
                    reason = table.Column<string>(type: "TEXT", nullable: false),
                    created_by = table.Column<string>(type: "TEXT", nullable: false),
                    created_at = table.Column<long>(type: "INTEGER", nullable: false),
                    expires_at = table.Column<long>(type: "INTEGER", nullable: false),
                    released_at = table.Column<long>(type: "INTEGER", nullable: true),
                    released_by = table.Column<string>(type: "TEXT", nullable: true),
                    release_reason = table.Column<string>(type: "TEXT", nullable: true)
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
