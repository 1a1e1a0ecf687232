using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace CivicLens.Storage.Sqlite.Migrations
{
    /// <inheritdoc />
    public partial class Reports : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<long>(
                name: "acknowledge_due_at",
                table: "cases",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "acknowledged_at",
                table: "cases",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "escalated_at",
                table: "cases",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "escalated_for",
                table: "cases",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "fixed_at",
                table: "cases",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<double>(
                name: "latitude",
                table: "cases",
                type: "REAL",
                nullable: true);

            migrationBuilder.AddColumn<double>(
                name: "longitude",
                table: "cases",
                type: "REAL",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "merged_into",
                table: "cases",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "route_reason",
                table: "cases",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "verification",
                table: "cases",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "verify_camera_id",
                table: "cases",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "verify_zone",
                table: "cases",
                type: "TEXT",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "camera_geometry",
                columns: table => new
                {
                    camera_id = table.Column<string>(type: "TEXT", nullable: false),
                    kind = table.Column<string>(type: "TEXT", nullable: false),
                    item_id = table.Column<string>(type: "TEXT", nullable: false),
                    geometry = table.Column<string>(type: "TEXT", nullable: false),
                    version = table.Column<int>(type: "INTEGER", nullable: false),
                    updated_by = table.Column<string>(type: "TEXT", nullable: false),
                    updated_at = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_camera_geometry", x => new { x.camera_id, x.kind, x.item_id });
                });

            migrationBuilder.CreateTable(
                name: "case_suggestions",
                columns: table => new
                {
                    id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    case_id = table.Column<long>(type: "INTEGER", nullable: false),
                    target_case_id = table.Column<long>(type: "INTEGER", nullable: false),
                    metres = table.Column<double>(type: "REAL", nullable: false),
                    created_at = table.Column<long>(type: "INTEGER", nullable: false),
                    state = table.Column<string>(type: "TEXT", nullable: false),
                    decided_by = table.Column<string>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_case_suggestions", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "reports",
                columns: table => new
                {
                    id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    token = table.Column<string>(type: "TEXT", nullable: false),
                    source = table.Column<string>(type: "TEXT", nullable: false),
                    idempotency_key = table.Column<string>(type: "TEXT", nullable: true),
                    content_hash = table.Column<string>(type: "TEXT", nullable: true),
                    submitted_by = table.Column<string>(type: "TEXT", nullable: true),
                    category = table.Column<string>(type: "TEXT", nullable: false),
                    description = table.Column<string>(type: "TEXT", nullable: true),
                    latitude = table.Column<double>(type: "REAL", nullable: false),
                    longitude = table.Column<double>(type: "REAL", nullable: false),
                    address = table.Column<string>(type: "TEXT", nullable: true),
                    area_id = table.Column<string>(type: "TEXT", nullable: false),
                    site_id = table.Column<string>(type: "TEXT", nullable: true),
                    contact_sealed = table.Column<string>(type: "TEXT", nullable: true),
                    submitted_at = table.Column<long>(type: "INTEGER", nullable: false),
                    case_id = table.Column<long>(type: "INTEGER", nullable: true),
                    flags = table.Column<string>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_reports", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "report_photos",
                columns: table => new
                {
                    id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    report_id = table.Column<long>(type: "INTEGER", nullable: false),
                    file_name = table.Column<string>(type: "TEXT", nullable: false),
                    sha256 = table.Column<string>(type: "TEXT", nullable: false),
                    width = table.Column<int>(type: "INTEGER", nullable: false),
                    height = table.Column<int>(type: "INTEGER", nullable: false),
                    length = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_report_photos", x => x.id);
                    table.ForeignKey(
                        name: "FK_report_photos_reports_report_id",
                        column: x => x.report_id,
                        principalTable: "reports",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_cases_category_state",
                table: "cases",
                columns: new[] { "category", "state" });

            migrationBuilder.CreateIndex(
                name: "IX_cases_department_id_state",
                table: "cases",
                columns: new[] { "department_id", "state" });

            migrationBuilder.CreateIndex(
                name: "IX_cameras_latitude_longitude",
                table: "cameras",
                columns: new[] { "latitude", "longitude" });

            migrationBuilder.CreateIndex(
                name: "IX_case_suggestions_case_id_target_case_id",
                table: "case_suggestions",
                columns: new[] { "case_id", "target_case_id" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_case_suggestions_state_target_case_id",
                table: "case_suggestions",
                columns: new[] { "state", "target_case_id" });

            migrationBuilder.CreateIndex(
                name: "IX_report_photos_file_name",
                table: "report_photos",
                column: "file_name",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_report_photos_report_id",
                table: "report_photos",
                column: "report_id");

            migrationBuilder.CreateIndex(
                name: "IX_reports_case_id",
                table: "reports",
                column: "case_id");

            migrationBuilder.CreateIndex(
                name: "IX_reports_category_submitted_at",
                table: "reports",
                columns: new[] { "category", "submitted_at" });

            migrationBuilder.CreateIndex(
                name: "IX_reports_idempotency_key",
                table: "reports",
                column: "idempotency_key",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_reports_token",
                table: "reports",
                column: "token",
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "camera_geometry");

            migrationBuilder.DropTable(
                name: "case_suggestions");

            migrationBuilder.DropTable(
                name: "report_photos");

            migrationBuilder.DropTable(
                name: "reports");

            migrationBuilder.DropIndex(
                name: "IX_cases_category_state",
                table: "cases");

            migrationBuilder.DropIndex(
                name: "IX_cases_department_id_state",
                table: "cases");

            migrationBuilder.DropIndex(
                name: "IX_cameras_latitude_longitude",
                table: "cameras");

            migrationBuilder.DropColumn(
                name: "acknowledge_due_at",
                table: "cases");

            migrationBuilder.DropColumn(
                name: "acknowledged_at",
                table: "cases");

            migrationBuilder.DropColumn(
                name: "escalated_at",
                table: "cases");

            migrationBuilder.DropColumn(
                name: "escalated_for",
                table: "cases");

            migrationBuilder.DropColumn(
                name: "fixed_at",
                table: "cases");

            migrationBuilder.DropColumn(
                name: "latitude",
                table: "cases");

            migrationBuilder.DropColumn(
                name: "longitude",
                table: "cases");

            migrationBuilder.DropColumn(
                name: "merged_into",
                table: "cases");

            migrationBuilder.DropColumn(
                name: "route_reason",
                table: "cases");

            migrationBuilder.DropColumn(
                name: "verification",
                table: "cases");

            migrationBuilder.DropColumn(
                name: "verify_camera_id",
                table: "cases");

            migrationBuilder.DropColumn(
                name: "verify_zone",
                table: "cases");
        }
    }
}
