using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace CivicLens.Storage.Sqlite.Migrations
{
    /// <inheritdoc />
    public partial class ClusterNodes : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "node",
                table: "cameras",
                type: "TEXT",
                maxLength: 63,
                nullable: true);

            migrationBuilder.CreateIndex(
                name: "IX_cameras_node",
                table: "cameras",
                column: "node");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_cameras_node",
                table: "cameras");

            migrationBuilder.DropColumn(
                name: "node",
                table: "cameras");
        }
    }
}
