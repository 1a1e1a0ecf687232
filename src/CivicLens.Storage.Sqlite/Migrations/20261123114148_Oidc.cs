using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace CivicLens.Storage.Sqlite.Migrations
{
    /// <inheritdoc />
    public partial class Oidc : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "external_login",
                table: "users",
                type: "TEXT",
                nullable: true);

            migrationBuilder.CreateIndex(
                name: "IX_users_external_login",
                table: "users",
                column: "external_login",
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_users_external_login",
                table: "users");

            migrationBuilder.DropColumn(
                name: "external_login",
                table: "users");
        }
    }
}
