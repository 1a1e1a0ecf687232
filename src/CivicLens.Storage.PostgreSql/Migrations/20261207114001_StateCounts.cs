using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace CivicLens.Storage.PostgreSql.Migrations
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
                    area_id = table.Column<string>(type: "text", nullable: false),
                    state = table.Column<string>(type: "text", nullable: false),
                    cameras = table.Column<int>(type: "integer", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_camera_state_counts", x => new { x.area_id, x.state });
                });

            migrationBuilder.CreateTable(
                name: "camera_state_deltas",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    area_id = table.Column<string>(type: "text", nullable: false),
                    state = table.Column<string>(type: "text", nullable: false),
                    cameras = table.Column<int>(type: "integer", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_camera_state_deltas", x => x.id);
                });
            // Counted once from the registry as it is, then kept by triggers in the writer's own transaction.
            migrationBuilder.Sql("INSERT INTO camera_state_counts (area_id, state, cameras) SELECT area_id, health, COUNT(*) FROM cameras GROUP BY area_id, health");
            migrationBuilder.Sql("""
                CREATE FUNCTION camera_state_counts_track() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                  -- A bulk import recounts once at its end: a row-by-row count would update the same few rows
                  -- hundreds of thousands of times in one transaction.
                  IF current_setting('civiclens.recount_at_end', true) = 'on' THEN
                    RETURN NULL;
                  END IF;
                  -- Appended, never updated in place: one count row changed again and again in one transaction
                  -- (an outage taking thousands of cameras offline) grows a version chain each change must walk.
                  IF TG_OP IN ('UPDATE', 'DELETE') THEN
                    INSERT INTO camera_state_deltas (area_id, state, cameras) VALUES (OLD.area_id, OLD.health, -1);
                  END IF;
                  IF TG_OP IN ('INSERT', 'UPDATE') THEN
                    INSERT INTO camera_state_deltas (area_id, state, cameras) VALUES (NEW.area_id, NEW.health, 1);
                  END IF;
                  RETURN NULL;
                END $$;
                """);
            migrationBuilder.Sql("CREATE TRIGGER cameras_state_counts AFTER INSERT OR DELETE ON cameras FOR EACH ROW EXECUTE FUNCTION camera_state_counts_track()");
            migrationBuilder.Sql("""
                CREATE TRIGGER cameras_state_counts_update AFTER UPDATE OF health, area_id ON cameras FOR EACH ROW
                WHEN (OLD.health IS DISTINCT FROM NEW.health OR OLD.area_id IS DISTINCT FROM NEW.area_id)
                EXECUTE FUNCTION camera_state_counts_track()
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("DROP TRIGGER cameras_state_counts ON cameras");
            migrationBuilder.Sql("DROP TRIGGER cameras_state_counts_update ON cameras");
            migrationBuilder.Sql("DROP FUNCTION camera_state_counts_track()");
            migrationBuilder.DropTable(
                name: "camera_state_counts");

            migrationBuilder.DropTable(
                name: "camera_state_deltas");
        }
    }
}
