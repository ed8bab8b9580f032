import { describe, expect, it } from "vitest";
import { errorMessage } from "./api";

describe("errorMessage", () => {
  it("takes the sentence out of a command error", () => {
    expect(errorMessage({ message: "The hub did not answer; check the URL." })).toBe(
      "The hub did not answer; check the URL.",
    );
    expect(errorMessage("plain")).toBe("plain");
  });
});
