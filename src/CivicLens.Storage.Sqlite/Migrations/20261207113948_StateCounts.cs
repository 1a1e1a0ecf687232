using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace CivicLens.Storage.Sqlite.Migrations
{
    /// <inheritdoc />
    public partial class StateCounts : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "camera_state_counts",
                columns: table => new
                {
                    area_id = table.Column<string>(type: "TEXT", nullable: false),
                    state = table.Column<string>(type: "TEXT", nullable: false),
                    cameras = table.Column<int>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_camera_state_counts", x => new { x.area_id, x.state });
                });

            migrationBuilder.CreateTable(
                name: "camera_state_deltas",
                columns: table => new
                {
                    id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    area_id = table.Column<string>(type: "TEXT", nullable: false),
                    state = table.Column<string>(type: "TEXT", nullable: false),
                    cameras = table.Column<int>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_camera_state_deltas", x => x.id);
                });
            // Counted once from the registry as it is, then kept by triggers in the writer's own transaction.
            migrationBuilder.Sql("INSERT INTO camera_state_counts (area_id, state, cameras) SELECT area_id, health, COUNT(*) FROM cameras GROUP BY area_id, health");
            migrationBuilder.Sql("""
                CREATE TRIGGER cameras_state_counts_insert AFTER INSERT ON cameras BEGIN
                  INSERT INTO camera_state_counts (area_id, state, cameras) VALUES (NEW.area_id, NEW.health, 1)
                  ON CONFLICT (area_id, state) DO UPDATE SET cameras = cameras + 1;
                END;
                """);
            migrationBuilder.Sql("""
                CREATE TRIGGER cameras_state_counts_delete AFTER DELETE ON cameras BEGIN
                  UPDATE camera_state_counts SET cameras = cameras - 1 WHERE area_id = OLD.area_id AND state = OLD.health;
                END;
                """);
            migrationBuilder.Sql("""
                CREATE TRIGGER cameras_state_counts_update AFTER UPDATE OF health, area_id ON cameras
                WHEN OLD.health IS NOT NEW.health OR OLD.area_id IS NOT NEW.area_id BEGIN
                  UPDATE camera_state_counts SET cameras = cameras - 1 WHERE area_id = OLD.area_id AND state = OLD.health;
                  INSERT INTO camera_state_counts (area_id, state, cameras) VALUES (NEW.area_id, NEW.health, 1)
                  ON CONFLICT (area_id, state) DO UPDATE SET cameras = cameras + 1;
                END;
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("DROP TRIGGER cameras_state_counts_insert");
            migrationBuilder.Sql("DROP TRIGGER cameras_state_counts_delete");
            migrationBuilder.Sql("DROP TRIGGER cameras_state_counts_update");
            migrationBuilder.DropTable(
                name: "camera_state_counts");

            migrationBuilder.DropTable(
                name: "camera_state_deltas");
        }
    }
}
