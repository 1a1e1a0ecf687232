using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace CivicLens.Storage.Sqlite.Migrations
{
    /// <inheritdoc />
    public partial class Registry : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "definition",
                table: "cameras",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "health_reason",
                table: "cameras",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "retired_at",
                table: "cameras",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "updated_at",
                table: "cameras",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.AddColumn<int>(
                name: "version",
                table: "cameras",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0);

            // Cameras registered before the lifecycle: the old online/offline word becomes a state the registry knows.
            migrationBuilder.Sql("UPDATE cameras SET version = 1, health = CASE WHEN NOT enabled THEN 'disabled' WHEN stream_url_sealed IS NULL THEN 'no-source' ELSE 'starting' END");

            migrationBuilder.CreateTable(
                name: "camera_health_changes",
                columns: table => new
                {
                    id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    camera_id = table.Column<string>(type: "TEXT", nullable: false),
                    state = table.Column<string>(type: "TEXT", nullable: false),
                    reason = table.Column<string>(type: "TEXT", nullable: true),
                    at = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_camera_health_changes", x => x.id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_cameras_area_id_health",
                table: "cameras",
                columns: new[] { "area_id", "health" });

            migrationBuilder.CreateIndex(
                name: "IX_cameras_health_area_id",
                table: "cameras",
                columns: new[] { "health", "area_id" });

            migrationBuilder.CreateIndex(
                name: "IX_cameras_updated_at",
                table: "cameras",
                column: "updated_at");

            migrationBuilder.CreateIndex(
                name: "IX_camera_health_changes_at",
                table: "camera_health_changes",
                column: "at");

            migrationBuilder.CreateIndex(
                name: "IX_camera_health_changes_camera_id_at",
                table: "camera_health_changes",
                columns: new[] { "camera_id", "at" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "camera_health_changes");

            migrationBuilder.DropIndex(
                name: "IX_cameras_area_id_health",
                table: "cameras");

            migrationBuilder.DropIndex(
                name: "IX_cameras_health_area_id",
                table: "cameras");

            migrationBuilder.DropIndex(
                name: "IX_cameras_updated_at",
                table: "cameras");

            migrationBuilder.DropColumn(
                name: "definition",
                table: "cameras");

            migrationBuilder.DropColumn(
                name: "health_reason",
                table: "cameras");

            migrationBuilder.DropColumn(
                name: "retired_at",
                table: "cameras");

            migrationBuilder.DropColumn(
                name: "updated_at",
                table: "cameras");

            migrationBuilder.DropColumn(
                name: "version",
                table: "cameras");
        }
    }
}
