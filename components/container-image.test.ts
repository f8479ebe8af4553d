import { join } from "node:path";
import { validateContainerImageArgs, type ContainerImageArgs } from "./container-image";

const REPO_ROOT = join(__dirname, "..");
const valid: ContainerImageArgs = { repositoryName: "friday-test-app", contextDir: REPO_ROOT };

describe("validateContainerImageArgs", () => {
  it("takes a context directory, or an image to run instead of building one", () => {
    expect(() => validateContainerImageArgs("img", valid)).not.toThrow();
    expect(() => validateContainerImageArgs("img", { ...valid, contextDir: "/nowhere", imageUri: "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1" })).not.toThrow();
  });

  it("refuses a context that is not a directory when it has to build", () => {
    expect(() => validateContainerImageArgs("img", { ...valid, contextDir: "/nowhere" })).toThrow(
      'ContainerImage "img": contextDir "/nowhere" is not a directory: point it at the app (with its Dockerfile), or set friday:imageUri.',
    );
    const file = join(REPO_ROOT, "package.json");
    expect(() => validateContainerImageArgs("img", { ...valid, contextDir: file })).toThrow(`contextDir "${file}" is not a directory`);
  });

  it.each([1, 0, 2.5])("refuses keeping %p images (a rollback target must remain)", (keep) => {
    expect(() => validateContainerImageArgs("img", { ...valid, keepImages: keep })).toThrow(
      `ContainerImage "img": keepImages must be an integer of at least 2 (got ${keep}) so a rollback target is always kept.`,
    );
  });
});
